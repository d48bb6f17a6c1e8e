//! One process of the control plane: started with its output in `<dir>/<name>.log`, killed on
//! drop of the cluster, and killed by the kernel when the process that
//! started it dies first (unless detached), so a crashed test leaves no orphans.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::Error;

/// A running control-plane process.
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `binary` with `args`, its stdout and stderr in `<dir>/<name>.log`. A detached
    /// process gets its own session; an attached one dies with the thread that started it.
    pub fn spawn(name: &str, binary: &Path, args: &[String], dir: &Path, detached: bool) -> Result<Process, Error> {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).map_err(|source| Error::Io {
            what: format!("creating {}", log.display()),
            source,
        })?;
        let stderr = file.try_clone().map_err(|source| Error::Io {
            what: format!("opening {}", log.display()),
            source,
        })?;
        let mut command = Command::new(binary);
        command
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(stderr));
        // SAFETY: the closure runs in the child between fork and exec and only makes
        // async-signal-safe system calls (setsid, prctl), touching no memory of the parent.
        unsafe {
            command.pre_exec(move || {
                if detached {
                    libc::setsid();
                } else {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                }
                Ok(())
            });
        }
        let child = command.spawn().map_err(|source| Error::Io {
            what: format!("starting {} ({})", name, binary.display()),
            source,
        })?;
        Ok(Process {
            name: name.to_string(),
            child,
            log,
        })
    }

    /// The process's name (`etcd`, `kube-apiserver`, …).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// An error with its log tail when it has exited.
    pub fn check_alive(&mut self) -> Result<(), Error> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(Error::ProcessDied {
                name: self.name.clone(),
                status: status.to_string(),
                log_tail: self.log_tail(),
            }),
            Err(source) => Err(Error::Io {
                what: format!("waiting for {}", self.name),
                source,
            }),
        }
    }

    /// The last 30 lines of its log.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log, 30)
    }

    /// Kills it (SIGKILL: the cluster is thrown away with its data, and kube-apiserver takes many
    /// seconds to drain its watches on SIGTERM) and reaps it.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends SIGKILL to `pid` (see [`Process::stop`]).
pub fn kill(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: kill(2) with a valid signal number has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Whether a process with `pid` exists.
pub fn exists(pid: u32) -> bool {
    i32::try_from(pid).is_ok_and(|pid| {
        // SAFETY: kill(2) with signal 0 only checks for existence.
        unsafe { libc::kill(pid, 0) == 0 }
    })
}

/// The last `lines` lines of a file.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
