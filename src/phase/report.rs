//! The report phase: report files, mail and report upload.
