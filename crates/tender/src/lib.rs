//! corten-tender: to be written.
