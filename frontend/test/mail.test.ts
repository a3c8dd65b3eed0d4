// @vitest-environment node
// Account mail: through SMTP_URL when set (here a real SMTP server on a free port), written to
// the log in development without it, and not at all (reset and verification off) in production
// without it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { mailer, resetPasswordMail, verifyEmailMail } from "@/lib/server/mail";

const received: { from: string; to: string[]; raw: string }[] = [];
const server = new SMTPServer({
  disabledCommands: ["STARTTLS", "AUTH"],
  logger: false,
  onData(stream, session, done) {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      received.push({
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
        to: session.envelope.rcptTo.map((r) => r.address),
        raw: Buffer.concat(chunks).toString("utf8"),
      });
      done();
    });
  },
});
let port = 0;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("mailer", () => {
  it("sends through SMTP_URL from MAIL_FROM", async () => {
    const send = mailer({ NODE_ENV: "production", SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: "Fleet <fleet@example.com>" });
    await send!(resetPasswordMail("ann@example.com", "Ann", "https://app.example/api/auth/reset-password/tok?callbackURL=%2Freset-password"));
    expect(received).toHaveLength(1);
    expect(received[0]!.from).toBe("fleet@example.com");
    expect(received[0]!.to).toEqual(["ann@example.com"]);
    expect(received[0]!.raw).toContain("Subject: Reset your taskfleet password");
  });

  it("writes the message to the log in development without SMTP_URL", async () => {
    const lines: string[] = [];
    const send = mailer({ TASKFLEET_ENV: "development", NODE_ENV: "production" }, (l) => lines.push(l));
    await send!(verifyEmailMail("bo@example.com", "Bo", "http://127.0.0.1:3000/api/auth/verify-email?token=t"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("to bo@example.com: Confirm your e-mail address");
    expect(lines[0]).toContain("http://127.0.0.1:3000/api/auth/verify-email?token=t");
  });

  it("is off in production without SMTP_URL: no link ever reaches a log", () => {
    const lines: string[] = [];
    expect(mailer({ NODE_ENV: "production" }, (l) => lines.push(l))).toBeNull();
    expect(lines).toEqual([]);
  });
});
