import type { Metadata } from "next";
import { ForgotPasswordForm } from "@/components/password-reset";
import { mailEnabled } from "@/lib/server/auth";

export const metadata: Metadata = { title: "Reset your password" };
export const dynamic = "force-dynamic";

export default function ForgotPasswordPage() {
  return <ForgotPasswordForm enabled={mailEnabled()} />;
}
