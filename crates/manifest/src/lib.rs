//! corten-manifest: to be written.
