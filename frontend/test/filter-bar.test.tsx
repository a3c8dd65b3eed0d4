// The due-range inputs of the filter bar follow the URL when it moves by itself (back button,
// a saved view), and keep what the user is typing when the move is the bar's own.
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FilterBar, dueRangeToFilters } from "@/components/tasks/filter-bar";
import { DEFAULT_FILTERS, type TaskFilters } from "@/lib/types";

afterEach(cleanup);

const withRange = (from: string, to: string): TaskFilters => ({ ...DEFAULT_FILTERS, ...dueRangeToFilters("custom", from, to) });

function bar(filters: TaskFilters, onChange = vi.fn()) {
  const searchRef = { current: null };
  const view = render(<FilterBar filters={filters} onChange={onChange} tags={[]} searchRef={searchRef} />);
  return {
    onChange,
    show: (next: TaskFilters) => view.rerender(<FilterBar filters={next} onChange={onChange} tags={[]} searchRef={searchRef} />),
  };
}

const input = (label: string) => screen.getByLabelText(label) as HTMLInputElement;

describe("FilterBar due range", () => {
  it("follows the URL: back to another range, then to none", () => {
    const { show } = bar(withRange("2030-01-01", "2030-01-31"));
    expect(input("Due from").value).toBe("2030-01-01");
    show(withRange("2030-03-01", "2030-03-15"));
    expect(input("Due from").value).toBe("2030-03-01");
    expect(input("Due until").value).toBe("2030-03-15");
    show(DEFAULT_FILTERS);
    expect(screen.queryByLabelText("Due from")).toBeNull();
    expect((screen.getByLabelText("Due") as HTMLSelectElement).value).toBe("any");
  });

  it("keeps the inputs while the user edits the range", () => {
    const { onChange, show } = bar(DEFAULT_FILTERS);
    fireEvent.change(screen.getByLabelText("Due"), { target: { value: "custom" } });
    fireEvent.change(input("Due from"), { target: { value: "2030-05-02" } });
    const applied = onChange.mock.calls.at(-1)![0] as Partial<TaskFilters>;
    show({ ...DEFAULT_FILTERS, ...applied });
    expect(input("Due from").value).toBe("2030-05-02");
    // Clearing the only date leaves an empty range in the URL; the inputs stay open for a new one.
    fireEvent.change(input("Due from"), { target: { value: "" } });
    show({ ...DEFAULT_FILTERS, ...(onChange.mock.calls.at(-1)![0] as Partial<TaskFilters>) });
    expect(input("Due from").value).toBe("");
    expect((screen.getByLabelText("Due") as HTMLSelectElement).value).toBe("custom");
  });
});
