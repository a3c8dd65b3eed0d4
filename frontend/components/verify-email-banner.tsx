"use client";
import { useState } from "react";
import { MailWarning } from "lucide-react";
import { authClient } from "@/lib/auth-client";
import { Button } from "./ui";

/** Shown until the account's address is confirmed (the link in the mail sent at sign-up). */
export function VerifyEmailBanner({ email }: { email: string }) {
  const [state, setState] = useState<"idle" | "sending" | "sent" | "failed">("idle");
  const resend = async () => {
    setState("sending");
    const { error } = await authClient.sendVerificationEmail({ email, callbackURL: "/tasks" });
    setState(error ? "failed" : "sent");
  };
  return (
    <div
      role="region"
      aria-label="Confirm your e-mail address"
      data-testid="verify-email"
      className="mb-5 flex flex-wrap items-center gap-3 rounded-xl border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900 dark:border-amber-500/20 dark:bg-amber-500/10 dark:text-amber-200"
    >
      <MailWarning className="size-4 shrink-0" aria-hidden />
      <p className="min-w-0 flex-1">
        Confirm your e-mail address: we sent a link to <strong>{email}</strong>.
        <span role="status">
          {state === "sent" && " A new link is on its way."}
          {state === "failed" && " Could not send a new link; try again in a minute."}
        </span>
      </p>
      <Button size="sm" onClick={() => void resend()} loading={state === "sending"} disabled={state === "sent"}>
        Send the link again
      </Button>
    </div>
  );
}
