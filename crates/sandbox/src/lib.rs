//! corten-sandbox: to be written.
