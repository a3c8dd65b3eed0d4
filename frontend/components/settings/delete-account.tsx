"use client";
import { useRef, useState } from "react";
import { Trash2 } from "lucide-react";
import { Dialog } from "@/components/dialog";
import { Button, Field, inputClass } from "@/components/ui";
import { api, ApiError } from "@/lib/api";
import { ACCOUNT_DELETED_URL } from "@/lib/account-deleted";

/**
 * Settings → Delete account: with the password, every task, view, token, feed, conversation,
 * notification and the audit trail's content go, and every device is signed out.
 */
export function DeleteAccountSettings({ onDeleted = () => window.location.assign(ACCOUNT_DELETED_URL) }: { onDeleted?: () => void }) {
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const passwordRef = useRef<HTMLInputElement>(null);

  const close = () => {
    if (busy) return;
    setOpen(false);
    setPassword("");
    setProblem(null);
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await api.deleteAccount(password);
      onDeleted();
    } catch (err) {
      setProblem(
        err instanceof ApiError && err.code === "wrong_password"
          ? "That is not your password. Nothing was deleted."
          : err instanceof ApiError
            ? err.message
            : "Could not delete the account. Try again.",
      );
      setBusy(false);
      passwordRef.current?.focus();
    }
  };

  return (
    <section
      aria-labelledby="delete-account-heading"
      className="rounded-xl border border-red-200 bg-white p-5 dark:border-red-900/60 dark:bg-zinc-900"
    >
      <h2 id="delete-account-heading" className="text-base font-semibold">
        Delete account
      </h2>
      <p className="mt-1 text-sm text-zinc-500 dark:text-zinc-400">
        Deletes every task (also in the trash), saved view, agent token, calendar feed, assistant conversation and
        notification, and the content of your activity history, then signs you out on every device. This cannot be
        undone: download your data first if you want to keep it.
      </p>
      <Button variant="danger" className="mt-3" onClick={() => setOpen(true)}>
        <Trash2 className="size-4" aria-hidden /> Delete account…
      </Button>
      <Dialog
        open={open}
        onClose={close}
        role="alertdialog"
        title="Delete your account?"
        description="Everything of it is deleted for good, in every service, and every device is signed out."
        initialFocus={passwordRef}
      >
        <form onSubmit={submit} className="space-y-3 px-5 pt-4 pb-5">
          <Field label="Your password" htmlFor="delete-account-password" error={problem ?? undefined}>
            <input
              ref={passwordRef}
              id="delete-account-password"
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
              aria-invalid={problem ? true : undefined}
              aria-describedby={problem ? "delete-account-password-error" : undefined}
              className={inputClass}
            />
          </Field>
          <div className="flex justify-end gap-2">
            <Button variant="ghost" onClick={close} disabled={busy}>
              Cancel
            </Button>
            <Button variant="danger" type="submit" loading={busy} disabled={!password}>
              Delete my account
            </Button>
          </div>
        </form>
      </Dialog>
    </section>
  );
}
