import type { Metadata } from "next";
import { AuthForm } from "@/components/auth-form";

export const metadata: Metadata = { title: "Sign in" };

const NOTICES: Record<string, string> = {
  "password-reset": "Your password was changed and every device was signed out. Sign in with the new password.",
  "account-deleted": "Your account and everything in it were deleted, and every device was signed out.",
};

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ notice?: string }> }) {
  const { notice } = await searchParams;
  return <AuthForm mode="sign-in" notice={notice ? NOTICES[notice] : undefined} />;
}
