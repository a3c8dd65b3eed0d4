import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { AppShell } from "@/components/app-shell";
import { VerifyEmailBanner } from "@/components/verify-email-banner";
import { auth, mailEnabled } from "@/lib/server/auth";
import { realtimeUrl } from "@/lib/server/realtime-config";

export default async function AppLayout({ children }: { children: React.ReactNode }) {
  const session = await auth.api.getSession({ headers: await headers() });
  if (!session) redirect("/sign-in");
  const { id, name, email, emailVerified } = session.user;
  return (
    <AppShell user={{ id, name, email }} realtimeUrl={realtimeUrl()}>
      {/* Only where mail can be sent: elsewhere no link could ever arrive. */}
      {mailEnabled() && !emailVerified && <VerifyEmailBanner email={email} />}
      {children}
    </AppShell>
  );
}
