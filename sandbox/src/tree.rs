//! Nothing outlives its owner: process trees, orphans and the subreaper.
//!
//! A process group is not enough to stop a server: a grandchild that calls
//! `setsid` (or `setpgid`) leaves the group, and once its parent exits it is
//! re-parented away from us. Three tools close that gap:
//!
//! * [`become_subreaper`]: orphans of our descendants are re-parented to
//!   this process instead of to PID 1, so they stay in our subtree;
//! * [`ProcessTag`]: every process we spawn gets [`TAG_ENV`] in its
//!   environment, which its descendants inherit; [`ProcessTag::kill`]
//!   kills the spawned process's group, every descendant (by parent links)
//!   and every orphan that was adopted by this process and carries the tag,
//!   again and again until none is left (a process that forks while being
//!   killed is caught on the next pass);
//! * [`kill_descendants`]: at exit, everything below this process.
//!
//! Orphans we adopt become our zombies when they die; [`reap_adopted`]
//! collects them without stealing the exit status of children whose owner
//! (tokio, std) waits for them: it only reaps zombies that are not
//! registered as owned ([`register_owned`]) and that it already saw as
//! zombies in its previous scan.
//!
//! Linux only (`/proc`, `PR_SET_CHILD_SUBREAPER`).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// The variable that marks the processes one spawn started.
pub const TAG_ENV: &str = "CODEX_PROCESS_TAG";

/// How many kill passes [`ProcessTag::kill`] and [`kill_descendants`] make
/// before giving up on a process that keeps forking.
const MAX_PASSES: usize = 64;

/// Makes this process the child subreaper of its descendants.
///
/// # Errors
///
/// The `prctl` error (on kernels without the feature).
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether this process is a child subreaper.
pub fn is_subreaper() -> bool {
    let mut flag: libc::c_int = 0;
    // SAFETY: PR_GET_CHILD_SUBREAPER writes one int through the pointer,
    // which points at a live local.
    let rc = unsafe {
        libc::prctl(
            libc::PR_GET_CHILD_SUBREAPER,
            &mut flag as *mut libc::c_int,
            0,
            0,
            0,
        )
    };
    rc == 0 && flag != 0
}

/// The mark of one spawned process and everything it starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProcessTag(String);

impl ProcessTag {
    /// A tag unique in this process's lifetime (`<our pid>.<n>`).
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ProcessTag(format!(
            "{}.{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ))
    }

    /// The variable's value.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// SIGKILLs the process `root` (a group leader we spawned with this
    /// tag), its group, its descendants, and the tagged orphans this
    /// process adopted, until none is left. Then reaps the adopted ones.
    /// Never fails: what cannot be killed is logged.
    pub fn kill(&self, root: u32) {
        let me = std::process::id();
        let mut adopted = BTreeSet::new();
        for _ in 0..MAX_PASSES {
            let table = scan();
            let mut victims: BTreeSet<u32> = BTreeSet::new();
            for (&pid, proc) in &table {
                if pid == me || proc.zombie {
                    continue;
                }
                let ours = pid == root
                    || proc.pgid == root
                    || descends_from(&table, pid, root)
                    || (proc.ppid == me && has_tag(pid, &self.0));
                if ours {
                    victims.insert(pid);
                }
            }
            // Descendants of adopted orphans.
            let roots: Vec<u32> = victims.iter().copied().collect();
            for (&pid, proc) in &table {
                if !proc.zombie && pid != me && roots.iter().any(|&r| descends_from(&table, pid, r))
                {
                    victims.insert(pid);
                }
            }
            if victims.is_empty() {
                break;
            }
            for &pid in &victims {
                if pid != root {
                    adopted.insert(pid);
                }
                kill(pid);
            }
            // Also the group, in case a member forked between scan and kill.
            kill_group(root);
        }
        reap(&adopted);
    }
}

impl Default for ProcessTag {
    fn default() -> Self {
        ProcessTag::new()
    }
}

/// SIGKILLs every descendant of this process, until none is left. For the
/// moment before exit: nothing this process started may outlive it.
pub fn kill_descendants() {
    // No child at all (alive or a zombie): nothing can descend from us,
    // and `/proc` need not be read.
    if !has_children() {
        return;
    }
    let me = std::process::id();
    let spared: HashSet<u32> = LET_GO
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .unwrap_or_default();
    for _ in 0..MAX_PASSES {
        let table = scan();
        let victims: Vec<u32> = table
            .iter()
            .filter(|(pid, proc)| {
                **pid != me
                    && !proc.zombie
                    && descends_from(&table, **pid, me)
                    && !spared_by(&table, **pid, me, &spared)
            })
            .map(|(pid, _)| *pid)
            .collect();
        if victims.is_empty() {
            return;
        }
        for pid in victims {
            kill(pid);
        }
    }
    tracing::warn!("some descendants survived {MAX_PASSES} kill passes");
}

/// Processes this one started that are still alive: its live
/// descendants, and every process, wherever it was re-parented, that
/// carries one of its tags. For reports that check nothing was left
/// behind.
pub fn leftover_processes() -> Vec<u32> {
    let me = std::process::id();
    let prefix = format!("{TAG_ENV}={me}.");
    let table = scan();
    table
        .iter()
        .filter(|(pid, proc)| **pid != me && !proc.zombie)
        .filter(|(pid, _)| {
            descends_from(&table, **pid, me) || {
                std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                    environ
                        .split(|&b| b == 0)
                        .any(|entry| entry.starts_with(prefix.as_bytes()))
                })
            }
        })
        .map(|(pid, _)| *pid)
        .collect()
}

static OWNED: Mutex<Option<HashSet<u32>>> = Mutex::new(None);
/// Children meant to outlive this process (see [`let_go`]).
static LET_GO: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

/// Marks a child (and what it starts) as meant to outlive this process:
/// [`kill_descendants`] spares it. For fire-and-forget programs the user
/// configured to run after a turn (`notify`), never for servers or
/// commands of the model.
pub fn let_go(pid: u32) {
    LET_GO
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert_with(HashSet::new)
        .insert(pid);
}

/// Whether this process has any child, alive or a zombie, without reaping
/// it (`waitid` with `WNOWAIT`): every descendant and every adopted orphan
/// is below one.
fn has_children() -> bool {
    // SAFETY: `waitid` writes only into `info`, a zeroed `siginfo_t` owned
    // here; `WNOHANG | WNOWAIT` neither blocks nor consumes a status.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WSTOPPED | libc::WCONTINUED | libc::WNOHANG | libc::WNOWAIT;
    let rc = unsafe { libc::waitid(libc::P_ALL, 0, &mut info, flags) };
    !(rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD))
}

/// Whether `pid` is, or descends from, a let-go child of `me`.
fn spared_by(table: &BTreeMap<u32, Proc>, pid: u32, me: u32, spared: &HashSet<u32>) -> bool {
    let mut current = pid;
    for _ in 0..table.len().min(4096) {
        if spared.contains(&current) {
            return true;
        }
        match table.get(&current) {
            Some(proc) if proc.ppid != me && proc.ppid > 1 && proc.ppid != current => {
                current = proc.ppid;
            }
            _ => return false,
        }
    }
    false
}
static SEEN_ZOMBIES: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

/// Marks `pid` as a child someone else waits for; [`reap_adopted`] leaves
/// it alone until [`release_owned`].
pub fn register_owned(pid: u32) {
    OWNED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert_with(HashSet::new)
        .insert(pid);
}

/// Forgets a child registered with [`register_owned`].
pub fn release_owned(pid: u32) {
    if let Some(owned) = OWNED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_mut()
    {
        owned.remove(&pid);
    }
}

/// Reaps zombie children that nobody owns (orphans adopted as subreaper)
/// and that were already zombies at the previous call. Returns how many.
pub fn reap_adopted() -> usize {
    if !has_children() {
        return 0;
    }
    let me = std::process::id();
    let owned = OWNED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .unwrap_or_default();
    let zombies: HashSet<u32> = scan()
        .into_iter()
        .filter(|(pid, proc)| proc.ppid == me && proc.zombie && !owned.contains(pid))
        .map(|(pid, _)| pid)
        .collect();
    let mut seen = SEEN_ZOMBIES.lock().unwrap_or_else(PoisonError::into_inner);
    let previous = seen.take().unwrap_or_default();
    let ripe: BTreeSet<u32> = zombies.intersection(&previous).copied().collect();
    *seen = Some(
        zombies
            .into_iter()
            .filter(|pid| !ripe.contains(pid))
            .collect(),
    );
    drop(seen);
    reap(&ripe)
}

/// `waitpid(pid, WNOHANG)` on each of `pids` that is our zombie child.
fn reap(pids: &BTreeSet<u32>) -> usize {
    let me = std::process::id();
    let mut reaped = 0;
    for &pid in pids {
        let Some(stat) = read_stat(pid) else {
            continue;
        };
        if stat.ppid != me || !stat.zombie {
            continue;
        }
        let Ok(raw) = libc::pid_t::try_from(pid) else {
            continue;
        };
        let mut status = 0;
        // SAFETY: waitpid on a specific pid with WNOHANG; `status` is a live
        // local. The pid is our zombie child that nobody owns.
        if unsafe { libc::waitpid(raw, &mut status, libc::WNOHANG) } == raw {
            reaped += 1;
        }
    }
    reaped
}

fn kill(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill with integer arguments; ESRCH is fine.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

fn kill_group(pgid: u32) {
    if let Ok(pgid) = libc::pid_t::try_from(pgid)
        && pgid > 1
    {
        // SAFETY: killpg with integer arguments; ESRCH is fine.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Proc {
    ppid: u32,
    pgid: u32,
    zombie: bool,
}

/// Every process, from `/proc/<pid>/stat`.
fn scan() -> BTreeMap<u32, Proc> {
    let mut table = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return table;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(proc) = read_stat(pid) {
            table.insert(pid, proc);
        }
    }
    table
}

fn read_stat(pid: u32) -> Option<Proc> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after
    // the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgid = fields.next()?.parse().ok()?;
    Some(Proc {
        ppid,
        pgid,
        zombie: state == "Z" || state == "X",
    })
}

/// Whether `pid`'s parent chain reaches `ancestor` (not counting `pid`).
fn descends_from(table: &BTreeMap<u32, Proc>, pid: u32, ancestor: u32) -> bool {
    let mut current = pid;
    for _ in 0..table.len().min(4096) {
        let Some(proc) = table.get(&current) else {
            return false;
        };
        if proc.ppid == ancestor {
            return true;
        }
        if proc.ppid <= 1 || proc.ppid == current {
            return false;
        }
        current = proc.ppid;
    }
    false
}

fn has_tag(pid: u32, tag: &str) -> bool {
    let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let wanted = format!("{TAG_ENV}={tag}");
    environ
        .split(|&b| b == 0)
        .any(|entry| entry == wanted.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_names_parse() {
        let me = read_stat(std::process::id()).expect("own stat");
        assert!(!me.zombie);
        assert!(me.ppid > 0);
    }

    #[test]
    fn tags_are_unique_and_name_this_process() {
        let a = ProcessTag::new();
        let b = ProcessTag::new();
        assert_ne!(a, b);
        assert!(a.as_str().starts_with(&format!("{}.", std::process::id())));
    }

    /// Live processes whose command line begins with `prefix`: the
    /// program itself after its `exec`, not a shell or `setsid` that
    /// merely names it in its arguments.
    fn count(prefix: &str) -> usize {
        scan()
            .iter()
            .filter(|(_, proc)| !proc.zombie)
            .filter(|(pid, _)| {
                std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                    String::from_utf8_lossy(&c)
                        .replace('\0', " ")
                        .starts_with(prefix)
                })
            })
            .count()
    }

    #[test]
    fn killing_a_tree_reaches_a_setsid_grandchild() {
        use std::os::unix::process::CommandExt as _;
        // A unique duration marks the grandchild. The kill must wait for
        // its `exec`: killed earlier, the shell's fork could still be on its
        // way to `setsid`, and without a subreaper (this test has none) it
        // would be re-parented to PID 1 outside the tree.
        let marker = format!("sleep 300.{}", std::process::id() % 100_000);
        let tag = ProcessTag::new();
        let mut child = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("setsid {marker} & wait"))
            .env(TAG_ENV, tag.as_str())
            .process_group(0)
            .spawn()
            .expect("spawn sh");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while count(&marker) == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the grandchild never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        tag.kill(child.id());
        let _ = child.wait();
        // The grandchild left the group (setsid) but not the tree.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while count(&marker) > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the grandchild survived"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}
