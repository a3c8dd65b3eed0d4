import Link from "next/link";

export default function NotFound() {
  return (
    <main className="flex min-h-dvh flex-col items-center justify-center gap-3 px-4 text-center">
      <p className="text-sm font-medium text-brand-600">404</p>
      <h1 className="text-2xl font-semibold tracking-tight">This page doesn&apos;t exist</h1>
      <Link href="/tasks" className="text-sm font-medium text-brand-600 hover:underline dark:text-brand-400">
        Back to your tasks
      </Link>
    </main>
  );
}
