//! Datasets: reading the course's file formats into plain in-memory values, splitting them
//! without leaks, and turning them into batches. Each submodule reads one kind of data.

pub mod breast_cancer;
pub mod class_folders;
pub mod fetchable;
pub use petri_core::data::image;
pub mod layout;
pub mod medmnist;
pub mod npy;
pub mod registry;
pub mod segmentation;
pub mod split;
pub mod summary;
pub mod tabular;

pub use image::{Image, Mask};
