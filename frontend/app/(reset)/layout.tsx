import { AuthShell } from "@/components/auth-shell";

// The password reset opens from a mail link, also in a browser that is still signed in (the
// sign-in pages would send it on to /tasks): setting the new password signs out every device.
export default function ResetLayout({ children }: { children: React.ReactNode }) {
  return <AuthShell>{children}</AuthShell>;
}
