//! backend-api: the task API of SPEC §4. Users create, read, update, complete, reopen and
//! delete their own tasks; lists are filtered, searched, sorted and paginated by keyset cursor.
//! Every change writes its event to the outbox in the same transaction, and the outbox relay
//! publishes it through the Dapr sidecar (see `common::outbox`).

pub mod docs;
pub mod routes;
pub mod startup;
