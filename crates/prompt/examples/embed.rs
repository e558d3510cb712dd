fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/text-encoder");
    let t = std::time::Instant::now();
    let enc = candor_prompt::encoder::Encoder::open(&dir).unwrap();
    println!("load {:?}", t.elapsed());
    let texts: Vec<String> = std::env::args().skip(1).collect();
    let e = enc.embed(&texts).unwrap();
    for (t, v) in texts.iter().zip(&e) {
        println!("{t}: {:?}", &v[..8]);
    }
}
