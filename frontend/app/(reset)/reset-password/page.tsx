import type { Metadata } from "next";
import { ResetPasswordForm } from "@/components/password-reset";

export const metadata: Metadata = { title: "Choose a new password" };

// Better Auth's link (/api/auth/reset-password/<token>) lands here with ?token=…, or with
// ?error=INVALID_TOKEN when the token has expired or was used.
export default async function ResetPasswordPage({ searchParams }: { searchParams: Promise<{ token?: string; error?: string }> }) {
  const { token, error } = await searchParams;
  return <ResetPasswordForm token={token ?? null} linkError={!!error} />;
}
