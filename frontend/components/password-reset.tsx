"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { authClient } from "@/lib/auth-client";
import { Button, Field, inputClass } from "./ui";

const CARD =
  "space-y-4 rounded-2xl border border-zinc-200 bg-white/90 p-6 shadow-xl shadow-zinc-900/5 backdrop-blur dark:border-zinc-800 dark:bg-zinc-900/80 dark:shadow-black/30";

function Heading({ title, lead }: { title: string; lead: string }) {
  return (
    <div className="mb-6 text-center">
      <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
      <p className="mt-1.5 text-sm text-zinc-500 dark:text-zinc-400">{lead}</p>
    </div>
  );
}

function BackToSignIn() {
  return (
    <p className="mt-5 text-center text-sm">
      <Link href="/sign-in" className="font-medium text-brand-600 hover:text-brand-500 dark:text-brand-400">
        Back to sign in
      </Link>
    </p>
  );
}

/** Asks for a reset link. The answer never says whether the address has an account. */
export function ForgotPasswordForm({ enabled }: { enabled: boolean }) {
  const [email, setEmail] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [sent, setSent] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const address = email.trim().toLowerCase();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(address)) {
      setError("Enter the e-mail address of your account.");
      return;
    }
    setBusy(true);
    setError(null);
    const { error } = await authClient.requestPasswordReset({ email: address, redirectTo: "/reset-password" });
    setBusy(false);
    if (error) setError(error.message ?? "Something went wrong. Try again.");
    else setSent(true);
  };

  return (
    <div className="w-full max-w-sm">
      <Heading title="Reset your password" lead="We send a link to choose a new one." />
      {!enabled ? (
        <p role="alert" className={CARD}>
          This server cannot send e-mail, so passwords cannot be reset here. Ask whoever runs it.
        </p>
      ) : sent ? (
        <p role="status" className={CARD} data-testid="reset-sent">
          If an account exists for {email.trim().toLowerCase()}, a link to reset its password is on its way. It works for one hour.
        </p>
      ) : (
        <form onSubmit={submit} noValidate className={CARD}>
          <Field label="Email" htmlFor="reset-email" error={error ?? undefined}>
            <input
              id="reset-email"
              type="email"
              autoComplete="email"
              autoFocus
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              aria-invalid={!!error}
              aria-describedby={error ? "reset-email-error" : undefined}
              className={inputClass}
              placeholder="you@example.com"
            />
          </Field>
          <Button type="submit" variant="primary" loading={busy} className="w-full">
            Send reset link
          </Button>
        </form>
      )}
      <BackToSignIn />
    </div>
  );
}

/** Chooses a new password with the link's token; the account is then signed out everywhere. */
export function ResetPasswordForm({ token, linkError }: { token: string | null; linkError: boolean }) {
  const router = useRouter();
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (password.length < 8) return setError("At least 8 characters.");
    if (password !== again) return setError("The two passwords differ.");
    setBusy(true);
    setError(null);
    const { error } = await authClient.resetPassword({ newPassword: password, token: token ?? "" });
    if (error) {
      setBusy(false);
      setError(error.code === "INVALID_TOKEN" ? "This link has expired or was used already. Ask for a new one." : (error.message ?? "Something went wrong."));
      return;
    }
    router.replace("/sign-in?notice=password-reset");
  };

  if (!token || linkError) {
    return (
      <div className="w-full max-w-sm">
        <Heading title="This link does not work" lead="It has expired or was used already." />
        <p className={CARD}>
          <Link href="/forgot-password" className="font-medium text-brand-600 hover:text-brand-500 dark:text-brand-400">
            Ask for a new link
          </Link>
        </p>
      </div>
    );
  }
  return (
    <div className="w-full max-w-sm">
      <Heading title="Choose a new password" lead="You will be signed out on every device." />
      <form onSubmit={submit} noValidate className={CARD}>
        {error && (
          <p role="alert" className="rounded-lg bg-red-50 px-3 py-2 text-sm text-red-700 dark:bg-red-500/10 dark:text-red-300">
            {error}
          </p>
        )}
        <Field label="New password" htmlFor="reset-password" hint="At least 8 characters.">
          <input
            id="reset-password"
            type="password"
            autoComplete="new-password"
            autoFocus
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            className={inputClass}
          />
        </Field>
        <Field label="New password again" htmlFor="reset-password-again">
          <input
            id="reset-password-again"
            type="password"
            autoComplete="new-password"
            value={again}
            onChange={(e) => setAgain(e.target.value)}
            className={inputClass}
          />
        </Field>
        <Button type="submit" variant="primary" loading={busy} className="w-full">
          Change password
        </Button>
      </form>
      <BackToSignIn />
    </div>
  );
}
