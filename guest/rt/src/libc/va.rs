//! C variadic arguments on x86_64 (System V ABI, section 3.5.7).
//!
//! Stable Rust cannot define a variadic function, so each variadic entry
//! point (`printf`, `fprintf`, ...) is a short assembly trampoline
//! ([`variadic!`]): it spills the six integer argument registers and, when
//! `%al` says vector registers carry arguments, `%xmm0`–`%xmm7` into a
//! register save area on its stack, builds a `va_list` over it, and calls
//! the Rust implementation with the named arguments unchanged and a
//! pointer to that `va_list` after them: exactly the `v*printf` form. The
//! Rust side reads arguments through [`VaList`], which follows the ABI's
//! `va_arg` algorithm.

use super::format::Args;

/// The ABI's `va_list` element (`__va_list_tag`); C passes `va_list` as a
/// pointer to it.
#[repr(C)]
pub struct VaListTag {
    /// Offset into `reg_save_area` of the next integer register argument.
    gp_offset: u32,
    /// Offset into `reg_save_area` of the next vector register argument.
    fp_offset: u32,
    /// Next argument passed on the stack.
    overflow_arg_area: *mut u8,
    /// Where the prologue saved the argument registers.
    reg_save_area: *mut u8,
}

/// End of the integer part of the register save area (6 × 8 bytes).
const GP_END: u32 = 48;
/// End of the vector part (48 + 8 × 16 bytes).
const FP_END: u32 = 176;

/// Reads the arguments of a `va_list`.
pub struct VaList(pub *mut VaListTag);

impl VaList {
    /// # Safety
    /// Every call must match the type of the next argument the caller
    /// passed (the printf contract), and the tag must be live.
    unsafe fn stack_slot(&mut self, size: usize, align: usize) -> *mut u8 {
        // SAFETY: the tag is live (caller).
        let tag = unsafe { &mut *self.0 };
        let at = (tag.overflow_arg_area as usize).next_multiple_of(align);
        tag.overflow_arg_area = at.wrapping_add(size.next_multiple_of(8)) as *mut u8;
        at as *mut u8
    }
}

impl Args for VaList {
    fn int(&mut self) -> u64 {
        // SAFETY: printf's contract: the format promised an integer here,
        // and the trampoline (or C's va_start) built a valid tag.
        unsafe {
            let tag = &mut *self.0;
            if tag.gp_offset < GP_END {
                let p = tag.reg_save_area.add(tag.gp_offset as usize);
                tag.gp_offset += 8;
                p.cast::<u64>().read_unaligned()
            } else {
                self.stack_slot(8, 8).cast::<u64>().read_unaligned()
            }
        }
    }

    fn double(&mut self) -> f64 {
        // SAFETY: as in `int`, for a double.
        unsafe {
            let tag = &mut *self.0;
            if tag.fp_offset < FP_END {
                let p = tag.reg_save_area.add(tag.fp_offset as usize);
                tag.fp_offset += 16;
                p.cast::<f64>().read_unaligned()
            } else {
                self.stack_slot(8, 8).cast::<f64>().read_unaligned()
            }
        }
    }

    fn long_double(&mut self) -> f64 {
        // long double is always passed in memory, 16-byte aligned.
        // SAFETY: as in `int`, for a long double.
        let bytes = unsafe { self.stack_slot(16, 16).cast::<[u8; 10]>().read_unaligned() };
        x87_to_f64(bytes)
    }
}

/// Converts an x87 80-bit extended value to the nearest `f64` (truncating
/// the 11 extra mantissa bits; printf of `long double` is then as exact as
/// `double`).
pub fn x87_to_f64(b: [u8; 10]) -> f64 {
    let [m0, m1, m2, m3, m4, m5, m6, m7, e0, e1] = b;
    let mantissa = u64::from_le_bytes([m0, m1, m2, m3, m4, m5, m6, m7]);
    let se = u16::from_le_bytes([e0, e1]);
    let negative = se & 0x8000 != 0;
    let exp = i32::from(se & 0x7fff);
    let v = if exp == 0x7fff {
        if mantissa << 1 == 0 {
            f64::INFINITY
        } else {
            f64::NAN
        }
    } else if mantissa == 0 {
        0.0
    } else {
        // value = mantissa × 2^(exp − 16383 − 63); scale in steps to stay
        // in range.
        let mut v = mantissa as f64;
        let mut e = exp - 16383 - 63;
        while e > 0 {
            let k = e.min(1000);
            v *= f64::from_bits(((1023 + k) as u64) << 52);
            e -= k;
        }
        while e < 0 {
            let k = (-e).min(1000);
            v /= f64::from_bits(((1023 + k) as u64) << 52);
            e += k;
        }
        v
    };
    if negative {
        -v
    } else {
        v
    }
}

/// Defines the variadic C function `$name` whose first `$named` arguments
/// (1 to 5, all integer class) are named: it calls `$imp(named...,
/// *mut VaListTag)`.
///
/// Stack: entry `%rsp` is 8 mod 16; 216 bytes make it 16-aligned for the
/// `movaps` and the call. Layout: [0, 48) integer registers, [48, 176)
/// xmm0–7, [176, 200) the va_list tag; the caller's stack arguments start
/// at entry `%rsp` + 8 = `%rsp` + 224.
macro_rules! variadic {
    ($name:literal, $named:literal, $reg:literal, $imp:path) => {
        core::arch::global_asm!(
            concat!(".pushsection .text.corten_libc_", $name, ",\"ax\",@progbits"),
            concat!(".globl ", $name),
            concat!(".type ", $name, ",@function"),
            concat!($name, ":"),
            "sub rsp, 216",
            "mov [rsp], rdi",
            "mov [rsp + 8], rsi",
            "mov [rsp + 16], rdx",
            "mov [rsp + 24], rcx",
            "mov [rsp + 32], r8",
            "mov [rsp + 40], r9",
            "test al, al",
            "jz 2f",
            "movaps [rsp + 48], xmm0",
            "movaps [rsp + 64], xmm1",
            "movaps [rsp + 80], xmm2",
            "movaps [rsp + 96], xmm3",
            "movaps [rsp + 112], xmm4",
            "movaps [rsp + 128], xmm5",
            "movaps [rsp + 144], xmm6",
            "movaps [rsp + 160], xmm7",
            "2:",
            concat!("mov dword ptr [rsp + 176], ", $named, " * 8"),
            "mov dword ptr [rsp + 180], 48",
            "lea rax, [rsp + 224]",
            "mov [rsp + 184], rax",
            "mov [rsp + 192], rsp",
            concat!("lea ", $reg, ", [rsp + 176]"),
            "call {imp}",
            "add rsp, 216",
            "ret",
            concat!(".size ", $name, ", . - ", $name),
            ".popsection",
            imp = sym $imp,
        );
    };
}
pub(crate) use variadic;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x87_conversion() {
        // 1.0: exponent 16383, mantissa with the explicit integer bit.
        let one = {
            let mut b = [0u8; 10];
            b[..8].copy_from_slice(&(1u64 << 63).to_le_bytes());
            b[8..].copy_from_slice(&16383u16.to_le_bytes());
            b
        };
        assert_eq!(x87_to_f64(one), 1.0);
        let mut minus_three = one;
        minus_three[..8].copy_from_slice(&(3u64 << 62).to_le_bytes());
        minus_three[8..].copy_from_slice(&(0x8000u16 | 16384).to_le_bytes());
        assert_eq!(x87_to_f64(minus_three), -3.0);
        let mut inf = [0u8; 10];
        inf[7] = 0x80;
        inf[8..].copy_from_slice(&0x7fffu16.to_le_bytes());
        assert_eq!(x87_to_f64(inf), f64::INFINITY);
        assert_eq!(x87_to_f64([0; 10]), 0.0);
    }

    #[test]
    fn reads_registers_then_stack() {
        let mut save = [0u8; 176];
        save[8..16].copy_from_slice(&7u64.to_le_bytes()); // second gp register
        save[48..56].copy_from_slice(&2.5f64.to_le_bytes()); // xmm0
        let mut stack = [0u8; 32];
        stack[..8].copy_from_slice(&9u64.to_le_bytes());
        stack[8..16].copy_from_slice(&0.25f64.to_le_bytes());
        let mut tag = VaListTag {
            gp_offset: 8,
            fp_offset: 160,
            overflow_arg_area: stack.as_mut_ptr(),
            reg_save_area: save.as_mut_ptr(),
        };
        let mut va = VaList(&mut tag);
        assert_eq!(va.int(), 7);
        for _ in 0..4 {
            va.int(); // registers 3..6
        }
        assert_eq!(va.int(), 9, "seventh integer comes from the stack");
        save[160..168].copy_from_slice(&1.5f64.to_le_bytes());
        assert_eq!(va.double(), 1.5, "xmm7");
        assert_eq!(va.double(), 0.25, "ninth double from the stack");
    }
}
