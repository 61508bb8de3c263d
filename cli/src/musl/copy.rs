//! `memcpy` and `memmove` for the shipped binary, in place of musl's.
//!
//! musl's x86_64 `memcpy` copies with `rep movsq` between single-byte
//! `movsb` steps. Each `rep` start costs tens of cycles in microcode, and
//! most copies here are a few bytes to a few dozen (strings and small
//! vectors): `memcpy` was 13 % of `mcp list`'s time, three quarters of it
//! on `rep movsq` (BENCHMARKS.md, eleventh pass; a Rust-on-musl problem
//! others report too). Here, a copy of up to 64 bytes is a few unaligned
//! loads and stores that overlap, and a longer one one `rep movsb`, which
//! most x86_64 processors of the last decade run at full speed (ERMS).
//!
//! Both symbols are defined together: musl's `memmove` jumps into its
//! `memcpy`'s object file, which would then be linked beside this one.
//! A copy of at most 64 bytes loads all of its source before it stores,
//! so overlap is safe for both. Nothing here loops, so the compiler cannot
//! turn this code back into a call to itself.
#![allow(unsafe_code)]

use std::arch::asm;

/// Copies `n` bytes, `n <= 64`: every load before any store.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `n` bytes.
#[inline(always)]
unsafe fn copy_short(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY (all arms): each access lies within the first or last bytes
    // of the `n` the caller vouches for, by the arm's bounds on `n`.
    unsafe {
        if n >= 32 {
            let a = src.cast::<[u8; 16]>().read_unaligned();
            let b = src.add(16).cast::<[u8; 16]>().read_unaligned();
            let c = src.add(n - 32).cast::<[u8; 16]>().read_unaligned();
            let d = src.add(n - 16).cast::<[u8; 16]>().read_unaligned();
            dst.cast::<[u8; 16]>().write_unaligned(a);
            dst.add(16).cast::<[u8; 16]>().write_unaligned(b);
            dst.add(n - 32).cast::<[u8; 16]>().write_unaligned(c);
            dst.add(n - 16).cast::<[u8; 16]>().write_unaligned(d);
        } else if n >= 16 {
            let a = src.cast::<[u8; 16]>().read_unaligned();
            let b = src.add(n - 16).cast::<[u8; 16]>().read_unaligned();
            dst.cast::<[u8; 16]>().write_unaligned(a);
            dst.add(n - 16).cast::<[u8; 16]>().write_unaligned(b);
        } else if n >= 8 {
            let a = src.cast::<u64>().read_unaligned();
            let b = src.add(n - 8).cast::<u64>().read_unaligned();
            dst.cast::<u64>().write_unaligned(a);
            dst.add(n - 8).cast::<u64>().write_unaligned(b);
        } else if n >= 4 {
            let a = src.cast::<u32>().read_unaligned();
            let b = src.add(n - 4).cast::<u32>().read_unaligned();
            dst.cast::<u32>().write_unaligned(a);
            dst.add(n - 4).cast::<u32>().write_unaligned(b);
        } else if n > 0 {
            let a = *src;
            let b = *src.add(n / 2);
            let c = *src.add(n - 1);
            *dst = a;
            *dst.add(n / 2) = b;
            *dst.add(n - 1) = c;
        }
    }
}

/// Copies `n` bytes upward with one `rep movsb`.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `n` bytes, and `dst` does not
/// lie inside the source after `src` (a copy upward reads each byte before
/// it could be written).
#[inline(always)]
unsafe fn copy_up(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the caller's bounds; the direction flag is clear, as the
    // System V ABI requires at every call.
    unsafe {
        asm!(
            "rep movsb",
            inout("rcx") n => _,
            inout("rdi") dst => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags)
        );
    }
}

/// Copies `n` bytes downward, from the last: for a destination above an
/// overlapping source.
///
/// # Safety
///
/// `src` is readable and `dst` writable for `n` bytes, `n > 0`.
#[inline(always)]
unsafe fn copy_down(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the caller's bounds; `std` runs the copy from the last byte
    // down, and `cld` restores the flag the ABI expects clear.
    unsafe {
        asm!(
            "std",
            "rep movsb",
            "cld",
            inout("rcx") n => _,
            inout("rdi") dst.add(n - 1) => _,
            inout("rsi") src.add(n - 1) => _,
            options(nostack)
        );
    }
}

/// C's `memcpy`.
///
/// # Safety
///
/// C's contract: `src` readable and `dst` writable for `n` bytes, not
/// overlapping.
#[cfg_attr(target_env = "musl", unsafe(no_mangle))]
pub(crate) unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller's contract, which covers both helpers'.
    unsafe {
        if n <= 64 {
            copy_short(dst, src, n);
        } else {
            copy_up(dst, src, n);
        }
    }
    dst
}

/// C's `memmove`.
///
/// # Safety
///
/// C's contract: `src` readable and `dst` writable for `n` bytes; they may
/// overlap.
#[cfg_attr(target_env = "musl", unsafe(no_mangle))]
pub(crate) unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller's contract. A short copy loads before it stores;
    // upward is safe unless `dst` lies inside the source above `src`, and
    // then downward is.
    unsafe {
        if n <= 64 {
            copy_short(dst, src, n);
        } else if (dst as usize).wrapping_sub(src as usize) >= n {
            copy_up(dst, src, n);
        } else {
            copy_down(dst, src, n);
        }
    }
    dst
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pattern no shift of itself equals, so a misplaced byte shows.
    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn memcpy_copies_every_length_and_alignment() {
        let source = pattern(400);
        for n in (0..=140).chain([200, 255, 256, 257, 300]) {
            for from in 0..9 {
                for to in 0..9 {
                    let mut out = vec![0xAA_u8; 420];
                    // SAFETY: both ranges lie within their vectors.
                    let back =
                        unsafe { memcpy(out.as_mut_ptr().add(to), source.as_ptr().add(from), n) };
                    assert_eq!(back, out.as_mut_ptr().wrapping_add(to));
                    assert_eq!(&out[to..to + n], &source[from..from + n], "n={n}");
                    assert!(out[..to].iter().all(|b| *b == 0xAA), "before, n={n}");
                    assert!(out[to + n..].iter().all(|b| *b == 0xAA), "after, n={n}");
                }
            }
        }
    }

    #[test]
    fn memmove_is_right_for_every_overlap() {
        for n in (0..=140).chain([200, 257]) {
            for from in 0..40 {
                for to in 0..40 {
                    let mut buf = pattern(400);
                    let mut expected = buf.clone();
                    expected.copy_within(from..from + n, to);
                    let base = buf.as_mut_ptr();
                    // SAFETY: both ranges lie within the vector.
                    unsafe { memmove(base.add(to), base.add(from), n) };
                    assert_eq!(buf, expected, "n={n} from={from} to={to}");
                }
            }
        }
    }

    /// After a downward copy the direction flag is clear again: the next
    /// upward copy still goes up.
    #[test]
    fn a_downward_move_leaves_copies_upward() {
        let mut buf = pattern(300);
        let base = buf.as_mut_ptr();
        // SAFETY: both ranges lie within the vector.
        unsafe { memmove(base.add(10), base, 200) };
        let source = pattern(100);
        let mut out = vec![0_u8; 100];
        // SAFETY: both ranges lie within their vectors.
        unsafe { memcpy(out.as_mut_ptr(), source.as_ptr(), 100) };
        assert_eq!(out, source);
    }
}
