-- audit: indexes for the audit API and a guard on the start of each user's hash chain.

-- `GET /api/audit` lists a user's entries newest first by when the change happened (arrival
-- order can differ across topics), optionally for one task.
CREATE INDEX audit_log_user_occurred_idx ON audit_log (user_id, occurred_at DESC, id DESC);
CREATE INDEX audit_log_user_task_idx ON audit_log (user_id, task_id, occurred_at DESC, id DESC);

-- UNIQUE (user_id, prev_hash) refuses two entries claiming the same predecessor, but NULLs are
-- distinct, so it cannot refuse two "first" entries of one user. This closes that gap: a user's
-- chain has exactly one start.
CREATE UNIQUE INDEX audit_log_one_chain_start_per_user ON audit_log (user_id)
    WHERE prev_hash IS NULL;
