//! The loader's fixed limits: facts the checks and their error messages
//! both name, kept in this leaf module so neither has to import the other.

/// Page size segments are aligned to, on both x86_64 and aarch64 (as
/// upstream's `EM_PAGE_SIZE`).
pub const PAGE_SIZE: u64 = 0x1000;

/// The most bytes of PT_NOTE segments the loader reads from one file, all
/// segments together. Solo5's notes need under 7 KiB; the budget keeps a
/// hostile file with thousands of overlapping PT_NOTEs from costing more.
pub const NOTE_BUDGET: u64 = 0x10000;
