"use client";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { motion } from "framer-motion";
import { Eye, EyeOff } from "lucide-react";
import { authClient } from "@/lib/auth-client";
import { validateSignIn, validateSignUp } from "@/lib/validation";
import { Button, Field, inputClass } from "./ui";

export function AuthForm({ mode, notice }: { mode: "sign-in" | "sign-up"; notice?: string }) {
  const router = useRouter();
  const [values, setValues] = useState({ name: "", email: "", password: "" });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [show, setShow] = useState(false);
  const signUp = mode === "sign-up";

  const set = (k: keyof typeof values) => (e: React.ChangeEvent<HTMLInputElement>) => {
    setValues((v) => ({ ...v, [k]: e.target.value }));
    if (errors[k]) setErrors(({ [k]: _gone, ...rest }) => rest);
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setFormError(null);
    const errs = signUp ? validateSignUp(values) : validateSignIn(values);
    setErrors(errs);
    if (Object.keys(errs).length) {
      document.getElementById(`auth-${Object.keys(errs)[0]}`)?.focus();
      return;
    }
    setBusy(true);
    const email = values.email.trim().toLowerCase();
    const { error } = signUp
      ? await authClient.signUp.email({ name: values.name.trim(), email, password: values.password, callbackURL: "/tasks" })
      : await authClient.signIn.email({ email, password: values.password });
    if (error) {
      setBusy(false);
      setFormError(
        error.status === 401 || error.code === "INVALID_EMAIL_OR_PASSWORD"
          ? "That email and password don't match."
          : error.code === "USER_ALREADY_EXISTS" || error.code === "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"
            ? "An account with this email already exists. Sign in instead."
            : (error.message ?? "Something went wrong. Try again."),
      );
      return;
    }
    router.replace("/tasks");
    router.refresh();
  };

  return (
    <motion.div
      initial={{ opacity: 0, y: 8 }}
      animate={{ opacity: 1, y: 0 }}
      transition={{ duration: 0.25 }}
      className="w-full max-w-sm"
    >
      <div className="mb-6 text-center">
        <h1 className="text-2xl font-semibold tracking-tight">{signUp ? "Create your account" : "Welcome back"}</h1>
        <p className="mt-1.5 text-sm text-zinc-500 dark:text-zinc-400">
          {signUp ? "Tasks that stay in sync on every device." : "Sign in to pick up where you left off."}
        </p>
      </div>
      <form
        onSubmit={submit}
        noValidate
        className="space-y-4 rounded-2xl border border-zinc-200 bg-white/90 p-6 shadow-xl shadow-zinc-900/5 backdrop-blur dark:border-zinc-800 dark:bg-zinc-900/80 dark:shadow-black/30"
      >
        {notice && !formError && (
          <p role="status" className="rounded-lg bg-emerald-50 px-3 py-2 text-sm text-emerald-800 dark:bg-emerald-500/10 dark:text-emerald-300">
            {notice}
          </p>
        )}
        {formError && (
          <p role="alert" className="rounded-lg bg-red-50 px-3 py-2 text-sm text-red-700 dark:bg-red-500/10 dark:text-red-300">
            {formError}
          </p>
        )}
        {signUp && (
          <Field label="Name" htmlFor="auth-name" error={errors.name}>
            <input
              id="auth-name"
              name="name"
              autoComplete="name"
              autoFocus
              value={values.name}
              onChange={set("name")}
              aria-invalid={!!errors.name}
              aria-describedby={errors.name ? "auth-name-error" : undefined}
              className={inputClass}
            />
          </Field>
        )}
        <Field label="Email" htmlFor="auth-email" error={errors.email}>
          <input
            id="auth-email"
            name="email"
            type="email"
            autoComplete="email"
            autoFocus={!signUp}
            value={values.email}
            onChange={set("email")}
            aria-invalid={!!errors.email}
            aria-describedby={errors.email ? "auth-email-error" : undefined}
            className={inputClass}
            placeholder="you@example.com"
          />
        </Field>
        <Field label="Password" htmlFor="auth-password" error={errors.password} hint={signUp ? "At least 8 characters." : undefined}>
          <div className="relative">
            <input
              id="auth-password"
              name="password"
              type={show ? "text" : "password"}
              autoComplete={signUp ? "new-password" : "current-password"}
              value={values.password}
              onChange={set("password")}
              aria-invalid={!!errors.password}
              aria-describedby={errors.password ? "auth-password-error" : undefined}
              className={`${inputClass} pr-10`}
            />
            <button
              type="button"
              onClick={() => setShow((s) => !s)}
              aria-label={show ? "Hide password" : "Show password"}
              className="absolute inset-y-0 right-0 flex w-10 items-center justify-center text-zinc-400 hover:text-zinc-700 dark:hover:text-zinc-200"
            >
              {show ? <EyeOff className="size-4" /> : <Eye className="size-4" />}
            </button>
          </div>
        </Field>
        {!signUp && (
          <p className="-mt-1 text-right text-sm">
            <Link href="/forgot-password" className="font-medium text-brand-600 hover:text-brand-500 dark:text-brand-400">
              Forgot your password?
            </Link>
          </p>
        )}
        <Button type="submit" variant="primary" loading={busy} className="w-full">
          {signUp ? "Create account" : "Sign in"}
        </Button>
      </form>
      <p className="mt-5 text-center text-sm text-zinc-500 dark:text-zinc-400">
        {signUp ? "Already have an account? " : "New to taskfleet? "}
        <Link
          href={signUp ? "/sign-in" : "/sign-up"}
          className="font-medium text-brand-600 hover:text-brand-500 dark:text-brand-400"
        >
          {signUp ? "Sign in" : "Create an account"}
        </Link>
      </p>
    </motion.div>
  );
}
