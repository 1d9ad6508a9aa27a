//! Where commands read from and write to: stdin or a file in, stdout or a file out (`-` means
//! the standard stream). A file output is written to a temporary file beside it and renamed
//! into place only by [`Sink::commit`]; dropped uncommitted, the temporary file is deleted, so
//! a failed command never leaves partial output at the path it was given.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;
use zeroize::Zeroizing;

use crate::error::{CliError, Result};

/// Whether `path` names a standard stream.
fn is_dash(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// An input: stdin or a file, with its size when known.
pub struct Source {
    reader: Box<dyn Read>,
    /// How it is named in messages.
    pub name: String,
    /// Its size in bytes, for a regular file.
    pub len: Option<u64>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl Source {
    /// Opens `path`; `None` or `-` is stdin.
    pub fn open(path: Option<&Path>) -> Result<Self> {
        match path {
            None => Ok(Self::stdin()),
            Some(path) if is_dash(path) => Ok(Self::stdin()),
            Some(path) => {
                let name = path.display().to_string();
                let file = File::open(path).map_err(CliError::io(format!("opening {name}")))?;
                let len = file
                    .metadata()
                    .ok()
                    .filter(|meta| meta.is_file())
                    .map(|meta| meta.len());
                Ok(Self {
                    reader: Box::new(file),
                    name,
                    len,
                })
            }
        }
    }

    fn stdin() -> Self {
        Self {
            reader: Box::new(std::io::stdin().lock()),
            name: "standard input".into(),
            len: None,
        }
    }

    /// Reads everything (for the small inputs of `encrypt` and friends), in a buffer that is
    /// zeroized when dropped.
    pub fn read_all(mut self) -> Result<Zeroizing<Vec<u8>>> {
        // Sized up front where possible, so that growing does not leave copies behind.
        let capacity = self.len.map_or(64 * 1024, |len| len as usize + 1);
        let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
        self.reader
            .read_to_end(&mut bytes)
            .map_err(CliError::io(format!("reading {}", self.name)))?;
        Ok(bytes)
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(buf)
    }
}

/// An output: stdout, or a temporary file renamed to its path on [`Sink::commit`].
pub struct Sink {
    target: Target,
    /// How it is named in messages.
    pub name: String,
}

enum Target {
    Stdout(std::io::StdoutLock<'static>),
    File {
        temporary: NamedTempFile,
        path: PathBuf,
    },
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink").field("name", &self.name).finish()
    }
}

impl Sink {
    /// Prepares the output; `None` or `-` is stdout. For a path, a temporary file (mode 0600)
    /// is created in the same directory, so the final rename stays on one file system.
    pub fn create(path: Option<&Path>) -> Result<Self> {
        let path = match path {
            Some(path) if !is_dash(path) => path,
            _ => {
                return Ok(Self {
                    target: Target::Stdout(std::io::stdout().lock()),
                    name: "standard output".into(),
                })
            }
        };
        let name = path.display().to_string();
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let temporary = tempfile::Builder::new()
            .prefix(".cs-")
            .suffix(".partial")
            .tempfile_in(directory)
            .map_err(CliError::io(format!(
                "creating a temporary file in {}",
                directory.display()
            )))?;
        Ok(Self {
            target: Target::File {
                temporary,
                path: path.to_path_buf(),
            },
            name,
        })
    }

    /// Whether this is stdout (where output cannot be taken back).
    pub fn is_stdout(&self) -> bool {
        matches!(self.target, Target::Stdout(_))
    }

    /// Flushes, and for a file renames the temporary file to its path (replacing any file
    /// there). Call only once the output is known to be complete and correct.
    pub fn commit(self) -> Result<()> {
        match self.target {
            Target::Stdout(mut out) => out
                .flush()
                .map_err(CliError::io("writing to standard output")),
            Target::File { temporary, path } => {
                temporary.persist(&path).map_err(|error| CliError::Io {
                    what: format!("renaming the output into place at {}", self.name),
                    source: error.error,
                })?;
                Ok(())
            }
        }
    }
}

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match &mut self.target {
            Target::Stdout(out) => out.write(bytes),
            Target::File { temporary, .. } => temporary.as_file_mut().write(bytes),
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match &mut self.target {
            Target::Stdout(out) => out.write_all(bytes),
            Target::File { temporary, .. } => temporary.as_file_mut().write_all(bytes),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.target {
            Target::Stdout(out) => out.flush(),
            Target::File { temporary, .. } => temporary.as_file_mut().flush(),
        }
    }
}

/// Writes `bytes` to `path` (or stdout) and commits: the whole output or none of it.
pub fn write_output(path: Option<&Path>, bytes: &[u8]) -> Result<()> {
    let mut sink = Sink::create(path)?;
    sink.write_all(bytes)
        .map_err(CliError::io(format!("writing {}", sink.name)))?;
    sink.commit()
}
