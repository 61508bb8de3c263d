//! Process isolation (Landlock, seccomp, mount namespaces) and process control.
//!
//! This crate depends on no other crate of ours.
