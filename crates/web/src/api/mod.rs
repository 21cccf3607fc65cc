//! The public, machine-facing answers: the products that take reports, the OpenAPI
//! description and the health check.

pub mod health;
pub(crate) mod openapi;
pub mod products;
