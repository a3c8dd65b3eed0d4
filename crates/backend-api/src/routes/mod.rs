//! One module per resource.

pub mod agent_tokens;
pub mod tags;
pub mod tasks;
pub mod views;
