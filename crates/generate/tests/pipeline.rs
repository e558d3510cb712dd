//! The generation pipeline with a tiny random model (no training): provenance, determinism, errors.

use candle_core::Device;
use candor_diffusion::{DiffusionModel, ModelConfig};
use candor_generate::{
    generate, watermark_noise, world, GenerateError, GenerateOptions, PromptReader,
};

fn keywords() -> PromptReader {
    PromptReader::keywords(world())
}
use candor_manifest::{read_manifest, CredentialState, Identity, NewIdentity, TrustAnchors};
use candor_store::ManifestStore;
use candor_watermark::{WatermarkKey, SOFT_BINDING_ALG};

fn setup() -> (tempfile::TempDir, DiffusionModel, Identity, ManifestStore) {
    let dir = tempfile::tempdir().unwrap();
    let model = DiffusionModel::new_random(ModelConfig::tiny("tiny-test"), &Device::Cpu).unwrap();
    let identity = Identity::create(
        &dir.path().join("id"),
        &NewIdentity {
            organization: "Gen Test".into(),
            common_name: "Generator".into(),
            public_test_identity: false,
            force: false,
        },
    )
    .unwrap();
    let store = ManifestStore::open(&dir.path().join("store.db")).unwrap();
    (dir, model, identity, store)
}

fn options() -> GenerateOptions {
    let mut o = GenerateOptions::for_native_size(32);
    o.frames = 4;
    o.steps = 2;
    o.size = 64;
    o.seed = 3;
    o.content_id = Some(0x1234_5678_9abc_def0);
    o
}

#[test]
fn every_clip_is_watermarked_signed_and_stored() {
    let (dir, model, identity, store) = setup();
    let out = dir.path().join("clip.mp4");
    let g = generate(
        &model,
        &keywords(),
        &identity,
        &store,
        "a red circle moving left, cinematic",
        &out,
        &options(),
        |_, _| {},
    )
    .unwrap();
    assert_eq!(g.content_id, "123456789abcdef0");
    for word in ["red", "circle", "moving left"] {
        assert!(g.understood.contains(word), "{}", g.understood);
    }
    assert_eq!(g.caption, "a red circle moving left");
    assert_eq!(g.prompt_reader, "keywords");
    assert_eq!(g.layout, vec!["red circle: moving left"]);
    assert!(
        g.ignored
            .iter()
            .chain(&g.not_understood)
            .any(|w| w == "cinematic"),
        "{g:?}"
    );

    let anchors = TrustAnchors::from_files(&[identity.root_path()]).unwrap();
    let report = read_manifest(&out, None, &anchors).unwrap();
    assert_eq!(report.state, CredentialState::Trusted);
    assert_eq!(report.source_type.as_deref(), Some("AI-generated"));
    let generation = report.generation.unwrap();
    assert_eq!(generation.model_name, "tiny-test");
    assert_eq!(generation.prompt, "a red circle moving left, cinematic");
    assert_eq!(generation.seed, 3);
    let binding = report.soft_binding.unwrap();
    assert_eq!(binding.alg, SOFT_BINDING_ALG);
    assert_eq!(
        binding.value,
        0x1234_5678_9abc_def0u64.to_be_bytes().to_vec()
    );

    let stored = store.by_binding(SOFT_BINDING_ALG, &binding.value).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].metadata["prompt"],
        "a red circle moving left, cinematic"
    );
    assert!(stored[0].manifest_bytes > 1000);
    // No unsigned intermediate is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("unsigned"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn same_prompt_seed_key_and_id_give_identical_noise_and_latents() {
    let (_dir, model, identity, _store) = setup();
    let key = WatermarkKey::new(identity.watermark_secret());
    let values = |t: candle_core::Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let noise = |id, seed| watermark_noise(&model, &key, id, seed, 4).unwrap();
    let (a, b, c) = (
        values(noise(7, 11)),
        values(noise(7, 11)),
        values(noise(8, 11)),
    );
    assert_eq!(a, b);
    assert_ne!(a, c);
    // The sampler itself is deterministic: same noise and prompt, same latents, bit for bit.
    let tokens = model.tokenize("blue square");
    let plan = model.layout_plan(&tokens, 4, 11);
    let layout = model
        .layout_maps(
            &plan.iter().map(|p| p.layout_object()).collect::<Vec<_>>(),
            4,
        )
        .unwrap();
    let sample = || {
        values(
            model
                .sample(&noise(7, 11), &tokens, layout.as_ref(), 3, 3.0, |_, _| {})
                .unwrap(),
        )
    };
    let (l1, l2) = (sample(), sample());
    assert_eq!(l1, l2);
}

/// Two whole generations in one process, decoded: the frames are identical, bit for bit. The
/// promise users and edits rely on: same prompt, seed, key and content id, same clip. (Across
/// processes with the shipped model, `tests/generate_cli.rs` checks it too.) On failure the
/// message names the frames that differ and by how much. It failed in about one run in four
/// while x264 used its AVX-512 routines, whose output depended on what memory held before
/// (`candor_media::encode` leaves them out).
#[test]
fn two_generations_in_one_process_give_identical_frames() {
    let (dir, model, identity, store) = setup();
    let decode = |p: &std::path::Path| {
        candor_media::FrameReader::open(p, candor_media::DecodeOptions::default())
            .unwrap()
            .collect_frames()
            .unwrap()
    };
    let (x, y) = (dir.path().join("x.mp4"), dir.path().join("y.mp4"));
    generate(
        &model,
        &keywords(),
        &identity,
        &store,
        "blue square",
        &x,
        &options(),
        |_, _| {},
    )
    .unwrap();
    generate(
        &model,
        &keywords(),
        &identity,
        &store,
        "blue square",
        &y,
        &options(),
        |_, _| {},
    )
    .unwrap();
    let (fx, fy) = (decode(&x), decode(&y));
    assert_eq!(fx.len(), 4);
    assert_eq!((fx[0].width, fx[0].height), (64, 64));
    let differing: Vec<(usize, u8)> = fx
        .iter()
        .zip(&fy)
        .enumerate()
        .filter(|(_, (a, b))| a.data != b.data)
        .map(|(i, (a, b))| {
            let worst = a
                .data
                .iter()
                .zip(&b.data)
                .map(|(p, q)| p.abs_diff(*q))
                .max();
            (i, worst.unwrap_or(0))
        })
        .collect();
    assert!(
        differing.is_empty(),
        "frames (index, largest difference) differ: {differing:?}"
    );
}

#[test]
fn bad_requests_are_errors() {
    let (dir, model, identity, store) = setup();
    let out = dir.path().join("z.mp4");
    for change in [
        |o: &mut GenerateOptions| o.frames = 0,
        |o: &mut GenerateOptions| o.size = 65,
        |o: &mut GenerateOptions| o.steps = 0,
        |o: &mut GenerateOptions| o.fps = 0,
        |o: &mut GenerateOptions| o.guidance = f64::NAN,
    ] {
        let mut o = options();
        change(&mut o);
        let e = generate(
            &model,
            &keywords(),
            &identity,
            &store,
            "red circle",
            &out,
            &o,
            |_, _| {},
        )
        .unwrap_err();
        assert!(matches!(e, GenerateError::InvalidOption { .. }), "{e}");
    }
    assert!(!out.exists());
    let unwritable = std::path::Path::new("/proc/candor/none/out.mp4");
    assert!(generate(
        &model,
        &keywords(),
        &identity,
        &store,
        "red circle",
        unwritable,
        &options(),
        |_, _| {}
    )
    .is_err());
}

#[test]
fn a_prompt_the_reader_refuses_writes_nothing_and_says_what_can_be_drawn() {
    let (dir, model, identity, store) = setup();
    let out = dir.path().join("refused.mp4");
    for prompt in ["", "   ", "a tax form on a desk"] {
        let e = generate(
            &model,
            &keywords(),
            &identity,
            &store,
            prompt,
            &out,
            &options(),
            |_, _| {},
        )
        .unwrap_err();
        let GenerateError::Refused { can_draw, .. } = &e else {
            panic!("{prompt:?}: {e}");
        };
        assert!(
            can_draw.contains("circle") && can_draw.contains("sunset"),
            "{can_draw}"
        );
        assert!(!out.exists(), "{prompt:?}");
    }
    assert!(store.list(10).unwrap().is_empty(), "nothing recorded");
}

#[test]
fn a_clip_longer_than_the_model_is_drawn_in_chunks_on_one_timeline() {
    // The tiny model is trained (here: built) for 4 frames: 11 frames are 4 chunks.
    let (dir, model, identity, store) = setup();
    let key = WatermarkKey::new(identity.watermark_secret());
    let mut o = options();
    o.frames = 11;
    assert_eq!(
        candor_generate::chunks(11, 4, candor_generate::CHUNK_OVERLAP).len(),
        5
    );
    let noise = watermark_noise(&model, &key, 7, o.seed, o.frames).unwrap();
    let understanding =
        candor_generate::understand(&keywords(), "a red circle moving left").unwrap();
    let mut calls = Vec::new();
    let (plan, frames) = candor_generate::draw(&model, &understanding, &noise, &o, &mut |d, t| {
        calls.push((d, t))
    })
    .unwrap();
    assert_eq!(frames.len(), 11, "every frame once");
    assert_eq!(
        plan[0].track.positions.len(),
        11,
        "planned for the whole clip"
    );
    // Progress runs over all chunks' steps, to the end.
    assert_eq!(calls.last(), Some(&(5 * o.steps, 5 * o.steps)));
    // Deterministic, and the first chunk is what a 4-frame clip from the same noise gives.
    let (_, again) =
        candor_generate::draw(&model, &understanding, &noise, &o, &mut |_, _| {}).unwrap();
    assert_eq!(frames, again);
    let mut short = o.clone();
    short.frames = 4;
    let first = noise.narrow(0, 0, 4).unwrap();
    let (_, alone) =
        candor_generate::draw(&model, &understanding, &first, &short, &mut |_, _| {}).unwrap();
    // (The plan differs with the length, so only the sizes are comparable here.)
    assert_eq!(alone.len(), 4);

    // Through `generate`: the manifest records 11 frames, one soft-binding block for the whole.
    let out = dir.path().join("long.mp4");
    let g = generate(
        &model,
        &keywords(),
        &identity,
        &store,
        "a red circle",
        &out,
        &o,
        |_, _| {},
    )
    .unwrap();
    assert_eq!(g.frames, 11);
    assert!(g.shots.is_empty());
    let m = read_manifest(&out, None, &TrustAnchors::none()).unwrap();
    assert_eq!(m.generation.as_ref().and_then(|g| g.frames), Some(11));
    assert!(m.soft_binding.as_ref().unwrap().timespans.is_empty());
}

#[test]
fn a_storyboard_is_one_clip_with_a_block_per_shot_and_refuses_as_a_whole() {
    let (dir, model, identity, store) = setup();
    let shots = vec![
        candor_generate::Shot {
            prompt: "a red circle moving left".into(),
            frames: 3,
        },
        candor_generate::Shot {
            prompt: "a blue square moving up".into(),
            frames: 5,
        },
    ];
    let out = dir.path().join("film.mp4");
    let g = candor_generate::generate_shots(
        &model,
        &keywords(),
        &identity,
        &store,
        &shots,
        &out,
        &options(),
        |_, _| {},
    )
    .unwrap();
    assert_eq!(g.frames, 8);
    assert_eq!(g.shots.len(), 2);
    assert_eq!((g.shots[1].first_frame, g.shots[1].frames), (3, 5));
    let m = read_manifest(&out, None, &TrustAnchors::none()).unwrap();
    let gen = m.generation.as_ref().unwrap();
    assert_eq!(gen.shots.len(), 2);
    assert_eq!(gen.shots[1].prompt, "a blue square moving up");
    assert_eq!(gen.shots[1].first_frame, 3);
    let binding = m.soft_binding.as_ref().unwrap();
    assert_eq!(binding.value, hex_bytes(&g.payload_hex));
    // Milliseconds at 8 fps: 0–375, 375–1000.
    let spans: Vec<(u64, u64)> = binding.timespans.iter().map(|t| (t.start, t.end)).collect();
    assert_eq!(spans, vec![(0, 375), (375, 1000)]);

    // One refused prompt refuses the whole storyboard, and nothing is written.
    let refused = dir.path().join("refused.mp4");
    let bad = vec![
        shots[0].clone(),
        candor_generate::Shot {
            prompt: "a photograph of my grandmother".into(),
            frames: 3,
        },
    ];
    let e = candor_generate::generate_shots(
        &model,
        &keywords(),
        &identity,
        &store,
        &bad,
        &refused,
        &options(),
        |_, _| {},
    );
    assert!(matches!(e, Err(GenerateError::Refused { .. })), "{e:?}");
    assert!(!refused.exists());
    // No shots, or a shot of no frames: an error, nothing written.
    for shots in [
        vec![],
        vec![candor_generate::Shot {
            prompt: "a red circle".into(),
            frames: 0,
        }],
    ] {
        let e = candor_generate::generate_shots(
            &model,
            &keywords(),
            &identity,
            &store,
            &shots,
            &refused,
            &options(),
            |_, _| {},
        );
        assert!(
            matches!(e, Err(GenerateError::InvalidOption { .. })),
            "{e:?}"
        );
        assert!(!refused.exists());
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}
