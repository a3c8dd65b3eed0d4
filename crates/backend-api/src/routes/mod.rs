//! One module per resource.

pub mod tags;
pub mod tasks;
