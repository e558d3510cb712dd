//! Content ids whose clips an identity marks with one template variant: what an attacker who
//! sorted public clips by variant would hold. Used to make the forged-pattern test clip
//! (`scripts/make-test-data.sh`); needs the identity's watermark secret, so it only works on a
//! test identity.
//!
//! `cargo run -p candor-eval --example variant_ids -- IDENTITY_DIR VARIANT COUNT`

use candor_watermark::{Payload, WatermarkKey};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(variant), Some(count)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("usage: variant_ids IDENTITY_DIR VARIANT COUNT");
        std::process::exit(2);
    };
    let (Ok(variant), Ok(count)) = (variant.parse::<u16>(), count.parse::<usize>()) else {
        eprintln!("VARIANT and COUNT must be numbers");
        std::process::exit(2);
    };
    let identity = match candor_eval::load_identity(std::path::Path::new(dir)) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let key = WatermarkKey::new(identity.watermark_secret());
    let mut found = 0;
    let mut id = 0x5eed_0000_0000_0000u64;
    while found < count {
        id = id.wrapping_add(0x9e37_79b9_7f4a_7c15);
        if key.variant_for(Payload::new(id)) == variant {
            println!("{id:016x}");
            found += 1;
        }
    }
}
