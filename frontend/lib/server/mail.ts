// E-mail for accounts (password reset, address verification). With SMTP_URL (e.g.
// `smtps://user:pass@smtp.example.com:465`, from the chart's Secret) messages go out through that
// server, from MAIL_FROM. Without it, in development (`fleet`, `next dev`), each message is
// written to the server log, which `fleet` shows, so the link can be opened from there. A
// production server without SMTP_URL sends nothing and logs nothing: a reset link in a log is an
// account takeover for whoever reads the log. Then password reset and verification are off
// (`mailer()` is null) and the UI says so.
import nodemailer from "nodemailer";
import { type Env, isDevelopment } from "./auth-config";

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export type Mailer = (mail: Mail) => Promise<void>;

export const DEFAULT_FROM = "taskfleet <no-reply@taskfleet.local>";

/** How mail leaves this server, or null when it cannot (production without SMTP_URL). */
export function mailer(env: Env = process.env, log: (line: string) => void = console.info): Mailer | null {
  const url = env.SMTP_URL?.trim();
  if (url) {
    const transport = nodemailer.createTransport(url);
    const from = env.MAIL_FROM?.trim() || DEFAULT_FROM;
    return async (mail) => {
      await transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text });
    };
  }
  if (isDevelopment(env)) {
    return async (mail) => {
      log(`[mail] (no SMTP_URL: not sent) to ${mail.to}: ${mail.subject}\n${mail.text}`);
    };
  }
  return null;
}

export function resetPasswordMail(to: string, name: string, url: string): Mail {
  return {
    to,
    subject: "Reset your taskfleet password",
    text:
      `Hello ${name},\n\nsomeone (hopefully you) asked to reset the password of your taskfleet account.\n` +
      `Open this link within an hour to choose a new one:\n\n${url}\n\n` +
      `If it was not you, ignore this message: your password stays as it is.\n`,
  };
}

export function verifyEmailMail(to: string, name: string, url: string): Mail {
  return {
    to,
    subject: "Confirm your e-mail address for taskfleet",
    text: `Hello ${name},\n\nplease confirm that this is your e-mail address by opening this link:\n\n${url}\n\nIt is valid for 24 hours.\n`,
  };
}
