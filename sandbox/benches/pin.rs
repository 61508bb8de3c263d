//! The cost of pinning an executable: opening and hashing (SHA-256) a
//! 50 MB file, as admission does for a rule with `sha256`, against an
//! unpinned resolution of the same file.
//!
//! ```sh
//! cargo bench -p codex-sandbox --bench pin -- --warm-up-time 1 --measurement-time 5
//! ```

use codex_sandbox::Executable;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn pin(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big-mcp");
    let bytes: Vec<u8> = (0..50 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &bytes).expect("write");
    let mut group = c.benchmark_group("pin");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("open_and_hash_50MB", |b| {
        b.iter(|| Executable::open_pinned(&path).expect("pin"))
    });
    group.finish();
    c.bench_function("pin/resolve_unpinned", |b| {
        b.iter(|| Executable::at(std::fs::canonicalize(&path).expect("resolve")))
    });
}

criterion_group!(benches, pin);
criterion_main!(benches);
