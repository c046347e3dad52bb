//! Floating point and SIMD: Rust float arithmetic (including conversions
//! and functions from core), and, where the build uses SSE, packed SSE
//! arithmetic written in assembly (as upstream's test does).
#![no_std]
#![no_main]

use core::hint::black_box as bb;

use corten_rt::println;

corten_rt::manifest! {}
corten_rt::entry!(main);

#[inline(never)]
fn scalar_checks() -> bool {
    let a = bb(1.5f32) * bb(5.0f32);
    let d = bb(0.1f64) + bb(0.2f64);
    let q = bb(1u128 << 100) as f64;
    let back = bb(1.0e19f64) as u64;
    let r = bb(10.0f64) / bb(4.0f64);
    // sqrt(2) by Newton's method (core has no sqrt without std); six
    // steps from 1.0 end one ulp below the correctly rounded value.
    let mut x = bb(1.0f64);
    for _ in 0..6 {
        x -= (x * x - 2.0) / (2.0 * x);
    }
    let ok = a == 7.5
        && d.to_bits() == 0x3fd3_3333_3333_3334
        && q.to_bits() == (1023 + 100) << 52
        && back == 10_000_000_000_000_000_000
        && r == 2.5
        && x.to_bits() == 0x3ff6_a09e_667f_3bcc
        && (bb(-0.0f64)).is_sign_negative();
    println!("scalar: 1.5*5={a} 0.1+0.2={d} 2^100={q:e} 1e19 as u64={back} 10/4={r} sqrt(2)={x}");
    ok
}

#[cfg(target_feature = "sse2")]
fn simd_checks() -> bool {
    #[repr(C, align(16))]
    struct V([f32; 4]);
    let mut c = V([2.0, 5.0, 3.0, 8.0]);
    // SAFETY: squares the four floats in place with SSE; c is 16-aligned.
    unsafe {
        core::arch::asm!(
            "movaps xmm1, [{p}]",
            "mulps xmm1, xmm1",
            "movaps [{p}], xmm1",
            p = in(reg) &mut c,
            out("xmm1") _,
            options(nostack)
        );
    }
    println!("SSE mulps: {:?}", c.0);
    c.0 == [4.0, 25.0, 9.0, 64.0]
}

#[cfg(target_arch = "aarch64")]
fn simd_checks() -> bool {
    #[repr(C, align(16))]
    struct V([f32; 4]);
    let mut c = V([2.0, 5.0, 3.0, 8.0]);
    // SAFETY: squares the four floats in place with NEON.
    unsafe {
        core::arch::asm!(
            "ldr q0, [{p}]",
            "fmul v0.4s, v0.4s, v0.4s",
            "str q0, [{p}]",
            p = in(reg) &mut c,
            out("v0") _,
            options(nostack)
        );
    }
    println!("NEON fmul: {:?}", c.0);
    c.0 == [4.0, 25.0, 9.0, 64.0]
}

#[cfg(all(target_arch = "x86_64", not(target_feature = "sse2")))]
fn simd_checks() -> bool {
    println!("SSE: not used, this unikernel is built soft-float (no SSE instructions)");
    true
}

fn main(_: &corten_rt::Start) -> i32 {
    corten_tests::banner("fpu");
    let scalar = scalar_checks();
    let simd = simd_checks();
    if scalar && simd {
        println!("SUCCESS");
        corten_rt::EXIT_SUCCESS
    } else {
        println!("FAILURE: scalar ok {scalar}, simd ok {simd}");
        corten_rt::EXIT_FAILURE
    }
}
