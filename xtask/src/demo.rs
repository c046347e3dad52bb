//! `cargo xtask demo`: Corten's main job on one screen. Builds the tenders,
//! elftool and the test unikernels, then runs the hello unikernel as a
//! process (spt) and, where /dev/kvm works, as a KVM virtual machine (hvt).

use std::path::Path;
use std::process::Command;

use crate::{guest, host, kvm, toolchain};

fn show(cmd: &mut Command) -> Result<(), String> {
    let line = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    println!("\n$ {line}");
    toolchain::run(cmd, &format!("`{line}`"))
}

pub fn run(root: &Path) -> Result<(), String> {
    host::build(root, true)?;
    let arch = guest::Arch::host();
    guest::build_unikernels(root, arch, &guest::Target::ALL, true).map_err(|e| e.to_string())?;
    let bin = host::bin_dir(root);
    let uk = guest::output_dir(root, arch);
    let rel = |p: std::path::PathBuf| p.strip_prefix(root).map(Path::to_path_buf).unwrap_or(p);

    println!("\n== What the unikernel declares (corten-elftool runs sandboxed)");
    show(
        Command::new(rel(bin.join("corten-elftool")))
            .current_dir(root)
            .args(["query-abi"])
            .arg(rel(uk.join("hello.spt"))),
    )?;
    show(
        Command::new(rel(bin.join("corten-elftool")))
            .current_dir(root)
            .args(["query-manifest"])
            .arg(rel(uk.join("hello.spt"))),
    )?;

    println!("\n== hello as a process (spt: seccomp-confined, no VM)");
    show(
        Command::new(rel(bin.join("corten-spt")))
            .current_dir(root)
            .arg(rel(uk.join("hello.spt")))
            .arg("Hello_Solo5"),
    )?;

    println!("\n== hello as a KVM virtual machine (hvt)");
    match kvm::usable() {
        Ok(()) => show(
            Command::new(rel(bin.join("corten-hvt")))
                .current_dir(root)
                .arg(rel(uk.join("hello.hvt")))
                .arg("Hello_Solo5"),
        )?,
        Err(why) => println!("skipped: {why}"),
    }
    println!(
        "\nDone. Binaries: {}; unikernels: {}",
        rel(bin).display(),
        rel(uk).display()
    );
    Ok(())
}
