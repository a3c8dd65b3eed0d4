"use client";
import { useId, useRef, useState } from "react";
import { Download, Upload } from "lucide-react";
import { toast } from "sonner";
import { api, ApiError } from "@/lib/api";
import type { ImportResult } from "@/lib/types";

/** The reason a refused import gives (`details.file` of a 422), else its message. */
function importProblem(e: unknown): string {
  if (e instanceof ApiError) {
    const file = (e.details as { file?: unknown } | undefined)?.file;
    return typeof file === "string" ? file : e.message;
  }
  return "Could not import the file";
}

const LINK =
  "inline-flex h-9 items-center gap-1.5 rounded-lg border border-zinc-200 bg-white px-3.5 text-sm font-medium shadow-xs hover:bg-zinc-50 dark:border-zinc-800 dark:bg-zinc-900 dark:hover:bg-zinc-800";

/** Settings → Your data: every task as a download (JSON, CSV), and a Todoist CSV export in. */
export function YourDataSettings() {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ImportResult | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const fileId = useId();
  const input = useRef<HTMLInputElement>(null);

  const importFile = async (file: File) => {
    setBusy(true);
    setResult(null);
    setProblem(null);
    try {
      const done = await api.importTodoist(await file.text());
      setResult(done);
      toast.success(done.imported === 1 ? "Imported 1 task" : `Imported ${done.imported} tasks`);
    } catch (e) {
      setProblem(importProblem(e));
    } finally {
      setBusy(false);
      if (input.current) input.current.value = "";
    }
  };

  return (
    <section aria-labelledby="your-data-heading" className="rounded-xl border border-zinc-200 bg-white p-5 dark:border-zinc-800 dark:bg-zinc-900">
      <h2 id="your-data-heading" className="text-base font-semibold">
        Your data
      </h2>
      <div className="mt-3 space-y-5">
        <div>
          <h3 className="text-sm font-medium">Export</h3>
          <p className="mt-0.5 text-sm text-zinc-500 dark:text-zinc-400">Every task, open and completed, as a file.</p>
          <div className="mt-2 flex flex-wrap gap-2">
            <a className={LINK} href="/api/tasks/export?format=json" download>
              <Download className="size-4" aria-hidden /> Download JSON
            </a>
            <a className={LINK} href="/api/tasks/export?format=csv" download>
              <Download className="size-4" aria-hidden /> Download CSV
            </a>
          </div>
        </div>
        <div>
          <h3 className="text-sm font-medium">
            <label htmlFor={fileId}>Import from Todoist</label>
          </h3>
          <p className="mt-0.5 text-sm text-zinc-500 dark:text-zinc-400">
            A project exported from Todoist as CSV: labels and sections become tags, dates are read in your time zone,
            comments go into the description. All tasks are imported, or none.
          </p>
          <div className="mt-2 flex items-center gap-2">
            <input
              ref={input}
              id={fileId}
              type="file"
              accept=".csv,text/csv"
              disabled={busy}
              onChange={(e) => {
                const file = e.currentTarget.files?.[0];
                if (file) void importFile(file);
              }}
              className="text-sm file:mr-3 file:rounded-lg file:border file:border-zinc-200 file:bg-white file:px-3 file:py-1.5 file:text-sm file:font-medium dark:file:border-zinc-800 dark:file:bg-zinc-900"
            />
            {busy && (
              <span role="status" className="text-sm text-zinc-500">
                <Upload className="inline size-4" aria-hidden /> Importing…
              </span>
            )}
          </div>
          {problem && (
            <p role="alert" className="mt-2 text-sm text-red-600 dark:text-red-400">
              Nothing was imported: {problem}
            </p>
          )}
          {result && (
            <div role="status" className="mt-2 text-sm" data-testid="import-result">
              <p className="font-medium">
                {result.imported === 1 ? "Imported 1 task." : `Imported ${result.imported} tasks.`}
              </p>
              {result.notes.length > 0 && (
                <ul className="mt-1 list-disc pl-5 text-zinc-600 dark:text-zinc-400">
                  {result.notes.map((n) => (
                    <li key={`${n.line}-${n.message}`}>
                      Line {n.line}: {n.message}
                    </li>
                  ))}
                </ul>
              )}
            </div>
          )}
        </div>
      </div>
    </section>
  );
}
