// A stand-in for the SMTP server of the end-to-end run: it accepts every message on
// SMTP_PORT (plain SMTP, no TLS or AUTH, like a local relay) and lists what it received on
// HTTP_PORT as JSON (`GET /messages` → [{to, subject, text}], newest last; `GET /healthz`).
// The app sends through it with SMTP_URL=smtp://127.0.0.1:<SMTP_PORT>, as it would through a
// real one.
import http from "node:http";
import { SMTPServer } from "smtp-server";

const SMTP_PORT = Number(process.env.SMTP_PORT ?? 3597);
const HTTP_PORT = Number(process.env.HTTP_PORT ?? 3598);
const messages = [];

/** The text part of a simple (single-part) message, quoted-printable decoded if it is. */
function parse(raw) {
  const split = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, " ");
  let body = raw.slice(split + 4);
  const header = (name) => head.match(new RegExp(`^${name}:\\s*(.*)$`, "im"))?.[1]?.trim() ?? "";
  if (/quoted-printable/i.test(header("Content-Transfer-Encoding"))) {
    const bytes = Buffer.from(body.replace(/=\r?\n/g, ""), "latin1");
    const out = [];
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0x3d && i + 2 < bytes.length) {
        out.push(parseInt(bytes.subarray(i + 1, i + 3).toString(), 16));
        i += 2;
      } else out.push(bytes[i]);
    }
    body = Buffer.from(out).toString("utf8");
  } else if (/base64/i.test(header("Content-Transfer-Encoding"))) {
    body = Buffer.from(body, "base64").toString("utf8");
  }
  return { subject: header("Subject"), text: body.replace(/\r\n/g, "\n") };
}

const smtp = new SMTPServer({
  disabledCommands: ["STARTTLS", "AUTH"],
  logger: false,
  onData(stream, session, done) {
    const chunks = [];
    stream.on("data", (c) => chunks.push(c));
    stream.on("end", () => {
      const { subject, text } = parse(Buffer.concat(chunks).toString("latin1"));
      for (const to of session.envelope.rcptTo) {
        messages.push({ to: to.address, subject, text });
        console.log(`mail to ${to.address}: ${subject}`);
      }
      done();
    });
  },
});
smtp.listen(SMTP_PORT, "127.0.0.1");

http
  .createServer((req, res) => {
    if (req.url === "/healthz") return res.end("ok");
    if (req.url === "/messages") {
      res.setHeader("content-type", "application/json");
      return res.end(JSON.stringify(messages));
    }
    res.statusCode = 404;
    res.end();
  })
  .listen(HTTP_PORT, "127.0.0.1");
