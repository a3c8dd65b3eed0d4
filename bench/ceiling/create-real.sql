-- The create-task transaction of backend-api against the REAL schema (every index, constraint
-- and trigger of migrations/), with an envelope of the size backend-api writes. No NOTIFY: a task
-- without a reminder notifies nothing (common::outbox).
\set u random(1, 1000)
BEGIN;
INSERT INTO tasks (id, user_id, title, description, priority, tags) VALUES (gen_random_uuid(), 'user-' || :u, 'a task title', 'some description', 'high', ARRAY['work','home']);
INSERT INTO outbox (event_id, pubsub, topic, partition_key, envelope) VALUES (gen_random_uuid(), 'pubsub', 'task-created', 'user-' || :u, '{"specversion":"1.0","id":"01a21965-72e6-7296-b25b-4f86bd2e2fd2","source":"backend-api","type":"com.taskfleet.task-created.v1","datacontenttype":"application/json","time":"2026-11-26T19:46:48.678692774Z","traceparent":"00-4d8ec147bcbee20cee6439a4aec8f1ef-1a23690363c0bf59-01","data":{"event_id":"01a21965-72e6-7296-b25b-4f86bd2e2fd2","event_type":"task-created","schema_version":1,"timestamp":"2026-11-26T19:46:48.678692774Z","user_id":"alice","correlation_id":"4f7f7f11-0221-41ff-ad54-e9820ed72bb0","actor":"user","task_version":1,"data":{"task_id":"01a21965-72e2-77f6-8203-6050ed95710e","title":"a task title","description":"some description","priority":"high","tags":["work","home"],"status":"pending","due_date":null,"reminder_at":null,"recurring_rule":null,"recurring_mode":"schedule","recurring_end_date":null,"timezone":"UTC","parent_task_id":null,"created_at":"2026-11-26T19:46:48.674846Z","updated_at":"2026-11-26T19:46:48.674846Z","completed_at":null}}}');
COMMIT;
