//! Behaviour of the watermark as a user sees it: embed → channel → detect.

use candor_watermark::channel::{
    add_noise, drop_and_shuffle, gaussian, insert_foreign, replace_region, select_frames,
    sigma_for_flip_rate,
};
use candor_watermark::{
    detect, detect_among_candidates, detect_by_decoding, embed, identify_payload, DetectOptions,
    Detection, KeyRing, LatentShape, Payload, TemporalEvent, WatermarkError, WatermarkKey,
    TEMPLATE_VARIANTS,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const SHAPE: LatentShape = LatentShape {
    frames: 16,
    channels: 4,
    height: 32,
    width: 32,
};

fn key(n: u8) -> WatermarkKey {
    WatermarkKey::new(&[n; 32])
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn marked(seed: u64) -> Result<Vec<f32>, WatermarkError> {
    embed(
        &key(1),
        Payload::new(seed ^ 0xdead_beef),
        SHAPE,
        &mut rng(seed),
    )
}

/// The watermark of `marked(seed)` with Gaussian noise that flips a fraction `flips` of its signs.
fn marked_with_flips(seed: u64, flips: f64, noise_seed: u64) -> Result<Vec<f32>, WatermarkError> {
    let mut noise = marked(seed)?;
    add_noise(&mut noise, sigma_for_flip_rate(flips), &mut rng(noise_seed));
    Ok(noise)
}

/// Detection of `key(1)` in a latent of `SHAPE` with the default options.
fn detect_key1(latent: &[f32]) -> Result<Detection, WatermarkError> {
    detect(
        &KeyRing::single(key(1)),
        latent,
        SHAPE,
        &DetectOptions::default(),
    )
}

#[test]
fn clean_latent_decodes_exactly() -> Result<(), WatermarkError> {
    let noise = marked(1)?;
    let d = detect(
        &KeyRing::single(key(1)),
        &noise,
        SHAPE,
        &DetectOptions::default(),
    )?;
    assert!(d.present());
    assert_eq!(d.payload(), Some(Payload::new(1 ^ 0xdead_beef)));
    assert!(d.log10_p_value() < -1000.0, "{}", d.log10_p_value());
    assert!(d.bit_error_rate() < 1e-6);
    assert!(d.temporal().is_empty());
    assert!(!d.tampered());
    for (i, f) in d.frames().iter().enumerate() {
        assert_eq!(f.template, Some(i));
    }
    Ok(())
}

#[test]
fn wrong_key_finds_nothing_and_reports_its_false_positive_rate() -> Result<(), WatermarkError> {
    let noise = marked(2)?;
    let d = detect(
        &KeyRing::single(key(9)),
        &noise,
        SHAPE,
        &DetectOptions::default(),
    )?;
    assert!(!d.present());
    assert_eq!(d.payload(), None);
    assert_eq!(d.false_positive_rate(), 1e-9);
    assert!(d.p_value() > 1e-6, "{}", d.p_value());
    Ok(())
}

#[test]
fn key_ring_finds_the_right_key_and_adjusts_p() -> Result<(), WatermarkError> {
    let noise = marked(3)?;
    let ring = KeyRing::new(vec![key(7), key(8), key(1)]);
    let d = detect(&ring, &noise, SHAPE, &DetectOptions::default())?;
    assert!(d.present());
    // The ring holds every template variant of each key: the third key's variants come third.
    assert_eq!(d.key_index() / usize::from(TEMPLATE_VARIANTS), 2);
    assert_eq!(ring.len(), 3 * usize::from(TEMPLATE_VARIANTS));
    assert_eq!(d.keys_tried(), 3);
    // On unmarked noise the ring-adjusted p-value is three times the single-key one.
    let plain = gaussian(SHAPE.len(), &mut rng(4));
    let one = detect(
        &KeyRing::single(key(7)),
        &plain,
        SHAPE,
        &DetectOptions::default(),
    )?;
    let three = detect(
        &KeyRing::new(vec![key(7), key(8), key(9)]),
        &plain,
        SHAPE,
        &DetectOptions::default(),
    )?;
    assert!(three.log10_p_value() >= one.log10_p_value() - 1e-12 || three.key_index() != 0);
    Ok(())
}

#[test]
fn survives_noise_that_flips_a_quarter_of_the_signs() -> Result<(), WatermarkError> {
    for seed in 0..20 {
        let d = detect_key1(&marked_with_flips(seed, 0.25, 100 + seed)?)?;
        assert!(d.present(), "seed {seed}");
        assert_eq!(
            d.payload(),
            Some(Payload::new(seed ^ 0xdead_beef)),
            "seed {seed}"
        );
        assert!(
            (d.bit_error_rate() - 0.25).abs() < 0.02,
            "{}",
            d.bit_error_rate()
        );
    }
    Ok(())
}

#[test]
fn dropped_and_shuffled_frames_are_realigned() -> Result<(), WatermarkError> {
    for seed in 0..10 {
        let noise = marked(seed)?;
        let (cut, shape, kept) = drop_and_shuffle(&noise, SHAPE, 0.25, &mut rng(seed));
        let d = detect(
            &KeyRing::single(key(1)),
            &cut,
            shape,
            &DetectOptions::default(),
        )?;
        assert!(d.present());
        assert_eq!(d.payload(), Some(Payload::new(seed ^ 0xdead_beef)));
        let found: Vec<Option<usize>> = d.frames().iter().map(|f| f.template).collect();
        let truth: Vec<Option<usize>> = kept.iter().map(|&k| Some(k)).collect();
        assert_eq!(found, truth);
    }
    Ok(())
}

#[test]
fn swapped_inserted_and_dropped_frames_are_located() -> Result<(), WatermarkError> {
    let noise = marked(5)?;
    let ring = KeyRing::single(key(1));
    let opts = DetectOptions::default();

    let mut order: Vec<usize> = (0..16).collect();
    order.swap(5, 6);
    let swapped = select_frames(&noise, SHAPE, &order);
    let d = detect(&ring, &swapped, SHAPE, &opts)?;
    assert!(!d.temporal().is_empty());
    assert!(
        d.temporal().iter().all(|e| matches!(
            e,
            TemporalEvent::Reordered {
                observed: 5 | 6,
                ..
            }
        )),
        "{:?}",
        d.temporal()
    );

    let (inserted, shape) = insert_foreign(&noise, SHAPE, 7, &mut rng(6));
    let d = detect(&ring, &inserted, shape, &opts)?;
    assert_eq!(d.temporal(), vec![TemporalEvent::Inserted { observed: 7 }]);

    let order: Vec<usize> = (0..16).filter(|&f| f != 9).collect();
    let dropped = select_frames(&noise, SHAPE, &order);
    let d = detect(
        &ring,
        &dropped,
        LatentShape {
            frames: 15,
            ..SHAPE
        },
        &opts,
    )?;
    assert_eq!(
        d.temporal(),
        vec![TemporalEvent::Dropped {
            first: 9,
            last: 9,
            before: 9
        }]
    );
    Ok(())
}

#[test]
fn replaced_region_shows_on_the_map() -> Result<(), WatermarkError> {
    let mut noise = marked(6)?;
    replace_region(&mut noise, SHAPE, (0, 0, 16, 16), &mut rng(7));
    let d = detect(
        &KeyRing::single(key(1)),
        &noise,
        SHAPE,
        &DetectOptions::default(),
    )?;
    assert!(d.present());
    let map = d.spatial().ok_or(WatermarkError::NoKeys)?;
    assert_eq!((map.grid_height, map.grid_width, map.block), (8, 8, 4));
    for gy in 0..8 {
        for gx in 0..8 {
            let truth = gy < 4 && gx < 4;
            assert_eq!(map.tampered[gy * 8 + gx], truth, "block ({gy},{gx})");
        }
    }
    Ok(())
}

/// Flagged blocks of a map, as (row, column).
fn flagged(d: Detection) -> Result<Vec<(usize, usize)>, WatermarkError> {
    let map = d.spatial().ok_or(WatermarkError::NoKeys)?;
    Ok((0..map.grid_height * map.grid_width)
        .filter(|&i| map.tampered[i])
        .map(|i| (i / map.grid_width, i % map.grid_width))
        .collect())
}

/// Elements of `SHAPE` inside rows `y0..y1` and columns `x0..x1` of every frame and channel.
fn region(y0: usize, y1: usize, x0: usize, x1: usize) -> impl Iterator<Item = usize> {
    (0..SHAPE.frames * SHAPE.channels).flat_map(move |plane| {
        (y0..y1)
            .flat_map(move |y| (x0..x1).map(move |x| (plane * SHAPE.height + y) * SHAPE.width + x))
    })
}

#[test]
fn a_region_pasted_from_another_clip_of_the_same_key_shows_on_the_map() -> Result<(), WatermarkError>
{
    // The other clip carries the same pilots (they come from the key), so agreement there stays
    // well above chance; only its codeword differs. At full strength a quarter of each frame moves
    // the frame's own pilot/codeword balance too: the frames must still count as this clip's.
    for flips in [0.0, 0.2] {
        let mut noise = marked(6)?;
        let mut other = embed(
            &key(1),
            Payload::new(0x0123_4567_89ab_cdef),
            SHAPE,
            &mut rng(9),
        )?;
        if flips > 0.0 {
            add_noise(&mut noise, sigma_for_flip_rate(flips), &mut rng(1));
            add_noise(&mut other, sigma_for_flip_rate(flips), &mut rng(2));
        }
        for i in region(0, 16, 16, 32) {
            noise[i] = other[i];
        }
        let d = detect_key1(&noise)?;
        assert!(d.present());
        assert_eq!(d.payload(), Some(Payload::new(6 ^ 0xdead_beef)));
        assert!(d.temporal().is_empty(), "flips {flips}: {:?}", d.temporal());
        let expected: Vec<(usize, usize)> =
            (0..4).flat_map(|y| (4..8).map(move |x| (y, x))).collect();
        assert_eq!(flagged(d)?, expected, "flips {flips}");
    }
    Ok(())
}

#[test]
fn a_region_where_the_mark_is_only_weaker_is_not_called_edited() -> Result<(), WatermarkError> {
    // Content decides how well the mark survives: smooth regions of a real clip agree far less
    // than busy ones. Half the frame at a 35 % flip rate, the rest at 10 %, is one clip untouched.
    let mut noise = marked(6)?;
    let mut r = rng(3);
    let (weak, strong) = (sigma_for_flip_rate(0.35), sigma_for_flip_rate(0.10));
    let bottom: std::collections::HashSet<usize> = region(16, 32, 0, 32).collect();
    let mut jitter = gaussian(noise.len(), &mut r);
    for (i, (v, j)) in noise.iter_mut().zip(&mut jitter).enumerate() {
        *v += *j * if bottom.contains(&i) { weak } else { strong } as f32;
    }
    let d = detect_key1(&noise)?;
    assert!(d.present());
    assert!(d.temporal().is_empty(), "{:?}", d.temporal());
    assert_eq!(flagged(d)?, Vec::new());
    Ok(())
}

#[test]
fn in_a_faint_clip_a_weak_frame_is_unreadable_not_foreign() -> Result<(), WatermarkError> {
    // A heavy re-encode leaves every frame faint (here z ≈ 7) and some fainter still (2 ≤ z < 3):
    // such a frame is the clip's own, not one put in its place.
    let mut noise = marked(6)?;
    let frame = SHAPE.frame_len();
    let mut r = rng(5);
    for f in 0..SHAPE.frames {
        let flips = if f == 5 { 0.486 } else { 0.445 };
        let jitter = gaussian(frame, &mut r);
        let sigma = sigma_for_flip_rate(flips) as f32;
        for (v, j) in noise[f * frame..(f + 1) * frame].iter_mut().zip(&jitter) {
            *v += j * sigma;
        }
    }
    let d = detect_key1(&noise)?;
    assert!(d.present());
    let weak = &d.frames()[5];
    assert!((2.0..3.0).contains(&weak.z), "{weak:?}");
    assert!(weak.unreadable, "{weak:?}");
    assert!(d.temporal().is_empty(), "{:?}", d.temporal());
    // A foreign frame in the same place still is one.
    let foreign = gaussian(frame, &mut r);
    noise[5 * frame..6 * frame].copy_from_slice(&foreign);
    let d = detect_key1(&noise)?;
    assert_eq!(
        d.temporal().first(),
        Some(&TemporalEvent::Inserted { observed: 5 })
    );
    Ok(())
}

#[test]
fn a_repeated_frame_is_reported_but_a_blend_of_two_is_not() -> Result<(), WatermarkError> {
    let clip = marked(6)?;
    let frame = SHAPE.frame_len();
    let (four, five) = (4 * frame..5 * frame, 5 * frame..6 * frame);
    // Frame 5 replaced by a copy of frame 4: a repeat, and frame 5 is gone.
    let mut repeated = clip.clone();
    repeated.copy_within(four.clone(), five.start);
    let d = detect_key1(&repeated)?;
    assert_eq!(
        d.temporal(),
        vec![
            TemporalEvent::Duplicated {
                observed: 5,
                template: 4
            },
            TemporalEvent::Dropped {
                first: 5,
                last: 5,
                before: 6
            }
        ]
    );
    // Frame 5 made of frame 4's values at 70 % of the positions and its own elsewhere (a codec
    // carrying blocks over): it matches template 4 best but carries its own too.
    let mut blended = clip.clone();
    let mut r = rng(8);
    use rand::Rng;
    for i in 0..frame {
        if r.gen_bool(0.7) {
            blended[five.start + i] = clip[four.start + i];
        }
    }
    let d = detect_key1(&blended)?;
    assert!(d.frames()[5].unreadable, "{:?}", d.frames()[5]);
    assert!(d.temporal().is_empty(), "{:?}", d.temporal());
    Ok(())
}

#[test]
fn bad_arguments_are_errors_not_panics() {
    let k = key(1);
    let empty = LatentShape::new(0, 4, 8, 8);
    assert!(matches!(
        embed(&k, Payload::new(1), empty, &mut rng(0)),
        Err(WatermarkError::EmptyShape(_))
    ));
    let shape = LatentShape::new(2, 1, 4, 4);
    assert!(matches!(
        detect(
            &KeyRing::single(k.clone()),
            &[0.0; 5],
            shape,
            &DetectOptions::default()
        ),
        Err(WatermarkError::LengthMismatch { .. })
    ));
    assert!(matches!(
        detect(
            &KeyRing::default(),
            &[0.0; 32],
            shape,
            &DetectOptions::default()
        ),
        Err(WatermarkError::NoKeys)
    ));
    let bad = DetectOptions {
        threshold: 0.0,
        ..DetectOptions::default()
    };
    assert!(matches!(
        detect(&KeyRing::single(k.clone()), &[0.0; 32], shape, &bad),
        Err(WatermarkError::InvalidOption(_))
    ));
    for weights in [vec![1.0; 2], vec![-1.0], vec![f32::NAN]] {
        let bad = DetectOptions {
            channel_weights: Some(weights.clone()),
            ..DetectOptions::default()
        };
        assert!(
            matches!(
                detect(&KeyRing::single(k.clone()), &[0.0; 32], shape, &bad),
                Err(WatermarkError::InvalidOption(_))
            ),
            "{weights:?}"
        );
    }
}

/// A foreign frame agrees with whatever template it is compared with by chance alone; it must not
/// pass as an "unreadable" frame of the clip (that happened to 7 % of them when z ≥ 1.5 sufficed).
#[test]
fn inserted_foreign_frames_are_always_called_inserted() -> Result<(), WatermarkError> {
    let ring = KeyRing::single(key(1));
    for seed in 0..120 {
        let latent = marked(seed)?;
        let at = (seed as usize * 7) % (SHAPE.frames + 1);
        let (inserted, shape) = insert_foreign(&latent, SHAPE, at, &mut rng(4000 + seed));
        let d = detect(&ring, &inserted, shape, &DetectOptions::default())?;
        assert_eq!(
            d.temporal(),
            vec![TemporalEvent::Inserted { observed: at }],
            "seed {seed}: {:?}",
            d.frames().get(at)
        );
    }
    Ok(())
}

/// A mark so faint that no single frame can be placed (about 53 % of signs right, as after
/// heavy re-encoding) is still found by testing the clip as a whole, and no frame is called
/// inserted for being faint.
#[test]
fn faint_mark_is_found_clip_wide_without_false_edits() -> Result<(), WatermarkError> {
    for seed in 0..6 {
        let d = detect_key1(&marked_with_flips(seed, 0.47, 300 + seed)?)?;
        assert!(d.present(), "seed {seed}: p = 10^{}", d.log10_p_value());
        assert!(d.clip_wide(), "seed {seed}");
        assert!(d.temporal().is_empty(), "seed {seed}: {:?}", d.temporal());
        assert_eq!(d.alignment().len(), SHAPE.frames);
        assert!(
            d.alignment().iter().all(|&(o, t)| o == t),
            "{:?}",
            d.alignment()
        );
    }
    Ok(())
}

/// A mark too faint to decode still picks its own payload out of a list of candidates (a manifest
/// store's soft bindings), and picks nothing when its payload is not among them.
#[test]
fn faint_mark_picks_its_payload_from_candidates() -> Result<(), WatermarkError> {
    let ring = KeyRing::single(key(1));
    let mut picked = 0;
    for seed in 0..4 {
        let noise = marked_with_flips(seed, 0.47, 700 + seed)?;
        let d = detect_key1(&noise)?;
        assert!(d.present(), "seed {seed}: p = 10^{}", d.log10_p_value());
        let own = Payload::new(seed ^ 0xdead_beef);
        // Content ids are random: so are the candidates.
        let mut ids = rng(900 + seed);
        let others: Vec<Payload> = (0..50)
            .map(|_| Payload::new(rand::Rng::gen(&mut ids)))
            .collect();
        let mut candidates = others.clone();
        candidates.insert(17, own);
        let options = DetectOptions::default();
        let m = identify_payload(&ring, &d, &noise, SHAPE, &candidates, &options)?;
        assert_eq!(m.as_ref().map(|m| m.payload), Some(own), "seed {seed}");
        let m = m.into_iter().next();
        // Only candidates marked with the variant found are compared (and counted).
        let same_variant = candidates
            .iter()
            .filter(|&&c| key(1).variant_for(c) == key(1).variant_for(own))
            .count();
        assert!(same_variant < 20, "{same_variant} of 51 share a variant");
        assert!(m.is_some_and(|m| m.candidates == same_variant
            && m.log10_p_value < -6.0
            && (0.4..0.5).contains(&m.bit_error_rate)));
        picked += usize::from(d.payload() != Some(own));
        assert_eq!(
            identify_payload(&ring, &d, &noise, SHAPE, &others, &options)?,
            None,
            "seed {seed}"
        );
    }
    // The point of the list: at this level the decoder alone does not always manage.
    assert!(
        picked > 0,
        "every payload decoded on its own; make the mark fainter"
    );

    // A strong mark of another payload must not lend its strength to a wrong candidate: the
    // elements of one code bit move together, so the test counts code bits, not elements.
    let clean = marked(9)?;
    let d = detect(&ring, &clean, SHAPE, &DetectOptions::default())?;
    let mut ids = rng(999);
    let others: Vec<Payload> = (0..200)
        .map(|_| Payload::new(rand::Rng::gen(&mut ids)))
        .collect();
    assert_eq!(
        identify_payload(&ring, &d, &clean, SHAPE, &others, &DetectOptions::default())?,
        None
    );
    Ok(())
}

/// With candidate payloads every element's expected sign is known: a mark too faint for the
/// pilots alone is found, with its payload, and fresh noise is not.
#[test]
fn candidates_find_a_mark_too_faint_for_the_pilots() -> Result<(), WatermarkError> {
    let ring = KeyRing::single(key(1));
    let options = DetectOptions::default();
    let mut ids = rng(31);
    let mut candidates: Vec<Payload> = (0..40)
        .map(|_| Payload::new(rand::Rng::gen(&mut ids)))
        .collect();
    let mut beyond_pilots = 0;
    for seed in 0..4 {
        let own = Payload::new(seed ^ 0xdead_beef);
        let noise = marked_with_flips(seed, 0.483, 1300 + seed)?;
        beyond_pilots += usize::from(!detect_key1(&noise)?.present());
        assert_eq!(
            detect_among_candidates(&ring, &noise, SHAPE, &candidates, &options)?,
            None,
            "seed {seed}: its payload is not among the candidates"
        );
        candidates.push(own);
        let found = detect_among_candidates(&ring, &noise, SHAPE, &candidates, &options)?;
        candidates.pop();
        let found = found.ok_or_else(|| WatermarkError::InvalidOption(format!("seed {seed}")))?;
        assert_eq!(found.payload, own);
        assert!(found.log10_p_value <= -9.0);
        assert_eq!(found.alignment.len(), SHAPE.frames);
    }
    assert!(
        beyond_pilots > 0,
        "the pilots alone found every mark; make it fainter"
    );
    for seed in 0..20 {
        let fresh = gaussian(SHAPE.len(), &mut rng(7000 + seed));
        assert_eq!(
            detect_among_candidates(&ring, &fresh, SHAPE, &candidates, &options)?,
            None
        );
    }
    Ok(())
}

/// Channel weights steer the clip-wide test to the channels that kept the mark: with the mark
/// wiped from three of four channels and the fourth faint, equal weights miss it and weights on
/// the surviving channel find it.
#[test]
fn channel_weights_find_a_mark_left_in_one_channel() -> Result<(), WatermarkError> {
    let plane = SHAPE.height * SHAPE.width;
    let mut noise = marked(7)?;
    let mut r = rng(77);
    add_noise(&mut noise, sigma_for_flip_rate(0.45), &mut r);
    let fresh = gaussian(noise.len(), &mut r);
    for (i, v) in noise.iter_mut().enumerate() {
        if !(i / plane).is_multiple_of(SHAPE.channels) {
            *v = fresh[i];
        }
    }
    let ring = KeyRing::single(key(1));
    let equal = detect(&ring, &noise, SHAPE, &DetectOptions::default())?;
    let weighted = detect(
        &ring,
        &noise,
        SHAPE,
        &DetectOptions {
            channel_weights: Some(vec![1.0, 0.0, 0.0, 0.0]),
            ..DetectOptions::default()
        },
    )?;
    assert!(weighted.present(), "p = 10^{}", weighted.log10_p_value());
    assert!(
        weighted.log10_p_value() < equal.log10_p_value() - 3.0,
        "{} vs {}",
        weighted.log10_p_value(),
        equal.log10_p_value()
    );
    Ok(())
}

/// Under no watermark the p-values are not too small: over fresh noise, p ≤ 0.1 happens at most
/// about as often as it should (10 %, here checked with room for chance and for the test's
/// conservatism going the other way).
#[test]
fn p_values_of_fresh_noise_are_not_too_small() -> Result<(), WatermarkError> {
    let ring = KeyRing::single(key(1));
    let mut small = 0;
    let trials = 80;
    for seed in 0..trials {
        let noise = gaussian(SHAPE.len(), &mut rng(5000 + seed));
        let d = detect(&ring, &noise, SHAPE, &DetectOptions::default())?;
        assert!(!d.present(), "seed {seed}");
        small += usize::from(d.p_value() <= 0.1);
    }
    assert!(small <= 16, "{small} of {trials} fresh latents had p ≤ 0.1");
    Ok(())
}

#[test]
fn nan_and_zero_latents_do_not_detect() -> Result<(), WatermarkError> {
    let shape = LatentShape::new(4, 4, 8, 8);
    for fill in [0.0f32, f32::NAN, f32::INFINITY] {
        let d = detect(
            &KeyRing::single(key(1)),
            &vec![fill; shape.len()],
            shape,
            &DetectOptions::default(),
        )?;
        assert!(!d.present(), "{fill}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_shape_round_trips_or_fails_cleanly(
        frames in 1usize..6, channels in 1usize..5, height in 1usize..20, width in 1usize..20,
        id in any::<u64>(), secret in any::<[u8; 32]>(), seed in any::<u64>(),
    ) {
        let shape = LatentShape::new(frames, channels, height, width);
        let k = WatermarkKey::new(&secret);
        let noise = embed(&k, Payload::new(id), shape, &mut rng(seed)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(noise.len(), shape.len());
        prop_assert!(noise.iter().all(|v| v.is_finite()));
        let d = detect(&KeyRing::single(k), &noise, shape, &DetectOptions::default()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // With enough pilots for the operating threshold, a clean latent is always found with its
        // payload; a payload, when reported, is always the right one.
        if shape.len() >= 2048 {
            prop_assert!(d.present());
            prop_assert_eq!(d.payload(), Some(Payload::new(id)));
        }
        if let Some(p) = d.payload() {
            prop_assert_eq!(p, Payload::new(id));
        }
    }

    #[test]
    fn other_keys_never_reach_the_operating_threshold(
        a in any::<[u8; 32]>(), b in any::<[u8; 32]>(), seed in any::<u64>(),
    ) {
        prop_assume!(a != b);
        let shape = LatentShape::new(4, 4, 16, 16);
        let noise = embed(&WatermarkKey::new(&a), Payload::new(seed), shape, &mut rng(seed)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let d = detect(&KeyRing::single(WatermarkKey::new(&b)), &noise, shape, &DetectOptions::default()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(!d.present());
        prop_assert_eq!(d.payload(), None);
    }

    #[test]
    fn key_ids_are_stable_and_distinct(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
        prop_assume!(a != b);
        let (ka, ka2, kb) = (WatermarkKey::new(&a), WatermarkKey::new(&a), WatermarkKey::new(&b));
        prop_assert_eq!(ka.id(), ka2.id());
        prop_assert_ne!(ka.id(), kb.id());
        prop_assert_eq!(ka.id().len(), 16);
    }
}

#[test]
fn code_bits_carry_what_the_pilots_predict_in_an_authentic_mark_and_not_in_an_average() {
    use candor_watermark::payload_coherence;
    let ring = KeyRing::single(key(1));
    let mut checked = 0;
    for (seed, flips) in [(5u64, 0.42), (6, 0.44), (7, 0.40)] {
        let noisy = marked_with_flips(seed, flips, seed + 100).unwrap();
        let d = detect(&ring, &noisy, SHAPE, &DetectOptions::default()).unwrap();
        if !d.present() {
            continue;
        }
        let c = payload_coherence(&ring, &d, &noisy, SHAPE)
            .unwrap()
            .unwrap();
        assert!(c.observed_z > 0.5 * c.predicted_z, "flips {flips}: {c:?}");
        assert!(!c.looks_forged(), "flips {flips}: {c:?}");
        checked += 1;
    }
    assert!(checked >= 2);
    // The mean of 32 clips' marks (same key, random content ids as Candor draws them): pilots
    // add up, codewords cancel.
    let mut mean = vec![0f32; SHAPE.len()];
    let mut ids = rng(4242);
    for seed in 0..32 {
        let payload = Payload::new(rand::Rng::gen::<u64>(&mut ids) >> 8);
        let clip = embed(&key(1), payload, SHAPE, &mut rng(1000 + seed)).unwrap();
        for (m, v) in mean.iter_mut().zip(clip) {
            *m += v / 32.0;
        }
    }
    // Added weakly to unmarked noise, as an attacker adds it to real footage.
    let mut forged = gaussian(SHAPE.len(), &mut rng(77));
    for (f, m) in forged.iter_mut().zip(&mean) {
        *f += 1.5 * m;
    }
    let d = detect(&ring, &forged, SHAPE, &DetectOptions::default()).unwrap();
    assert!(d.present(), "the averaged pilots are found");
    assert_eq!(d.payload(), None);
    let c = payload_coherence(&ring, &d, &forged, SHAPE)
        .unwrap()
        .unwrap();
    assert!(c.looks_forged(), "{c:?}");
}

/// Each clip is marked with one of the key's template variants, chosen by its payload: another
/// variant's templates do not see it, the whole ring does, and a payload embedded under a variant
/// it does not choose is reported as such (a pattern the key's holder never makes).
#[test]
fn template_variants_are_chosen_by_payload_and_checked_against_it() -> Result<(), WatermarkError> {
    let payload = Payload::new(0x0123_4567_89ab_cdef);
    let own = key(1).variant_for(payload);
    let noise = embed(&key(1), payload, SHAPE, &mut rng(31))?;
    let options = DetectOptions::default();
    let right = detect(
        &KeyRing::single(key(1).with_variant(own)),
        &noise,
        SHAPE,
        &options,
    )?;
    assert!(right.present());
    assert_eq!(right.payload(), Some(payload));
    let wrong = detect(
        &KeyRing::single(key(1).with_variant(own + 1)),
        &noise,
        SHAPE,
        &options,
    )?;
    assert!(!wrong.present(), "p = 10^{}", wrong.log10_p_value());
    let ring = detect(&KeyRing::single(key(1)), &noise, SHAPE, &options)?;
    assert!(ring.present() && ring.payload() == Some(payload) && !ring.foreign_variant());

    // The same payload forced under another variant: found, but its payload is not accepted.
    let forced = embed(&key(1).with_variant(own + 3), payload, SHAPE, &mut rng(32))?;
    let d = detect(&KeyRing::single(key(1)), &forced, SHAPE, &options)?;
    assert!(d.present());
    assert_eq!(d.payload(), None);
    assert!(d.foreign_variant());
    Ok(())
}

/// The averaging forgery in the latent: the mean of 64 clips of one key, scaled to the same small
/// energy and added to unmarked noise. Were every clip marked with the same templates (one
/// variant), the mean would carry them at full strength and be found; with per-clip variants each
/// variant is in a sixteenth of the clips, and the same energy buys no detection.
#[test]
fn the_mean_of_many_clips_does_not_carry_the_keys_pattern() -> Result<(), WatermarkError> {
    let n = 64;
    let mut ids = rng(77);
    let payloads: Vec<Payload> = (0..n)
        .map(|_| Payload::new(rand::Rng::gen(&mut ids)))
        .collect();
    let mean = |one_variant: bool| -> Result<Vec<f32>, WatermarkError> {
        let mut sum = vec![0f32; SHAPE.len()];
        for (i, &p) in payloads.iter().enumerate() {
            let k = if one_variant {
                key(1).with_variant(0)
            } else {
                key(1)
            };
            let z = embed(&k, p, SHAPE, &mut rng(1000 + i as u64))?;
            sum.iter_mut().zip(&z).for_each(|(s, v)| *s += v / n as f32);
        }
        Ok(sum)
    };
    let forge = |pattern: &[f32]| {
        let rms = (pattern.iter().map(|v| v * v).sum::<f32>() / pattern.len() as f32).sqrt();
        let mut host = gaussian(SHAPE.len(), &mut rng(5));
        host.iter_mut()
            .zip(pattern)
            .for_each(|(h, p)| *h += 0.05 * p / rms);
        host
    };
    let ring = KeyRing::single(key(1));
    let options = DetectOptions::default();
    let shared = detect(&ring, &forge(&mean(true)?), SHAPE, &options)?;
    assert!(
        shared.present() && shared.log10_p_value() < -15.0,
        "one template for all clips: p = 10^{}",
        shared.log10_p_value()
    );
    let mixed = detect(&ring, &forge(&mean(false)?), SHAPE, &options)?;
    assert!(
        !mixed.present(),
        "per-clip variants: p = 10^{}",
        mixed.log10_p_value()
    );
    // Either mean carries pilots, never a codeword: nothing decodes from it.
    for one_variant in [true, false] {
        assert_eq!(
            detect_by_decoding(&ring, &forge(&mean(one_variant)?), SHAPE, &options)?,
            None
        );
    }
    Ok(())
}

/// The removal a sorted attacker makes: the mean of 24 clips marked with the target's own
/// variant carries the variant's pilots (shared by every clip of it), not the target's codeword
/// (each clip's payload differs); subtracted from the target at twice its scale it turns the
/// pilots against the mark. The pilot tests lose it, and so would a candidate test that counts
/// every element; the codeword's elements alone still find it, with its payload, and the same
/// attack on unmarked noise finds nothing.
#[test]
fn a_variant_mean_subtracted_leaves_the_codeword_to_find() -> Result<(), WatermarkError> {
    let target = Payload::new(0x5eed_0000_0000_0001);
    let variant = key(1).with_variant(key(1).variant_for(target));
    let clips = 24;
    let mut ids = rng(4242);
    let mut mean = vec![0f32; SHAPE.len()];
    for i in 0..clips {
        let p = Payload::new(rand::Rng::gen(&mut ids));
        let z = embed(&variant, p, SHAPE, &mut rng(2000 + i))?;
        mean.iter_mut()
            .zip(&z)
            .for_each(|(m, v)| *m += v / clips as f32);
    }
    let attack = |mut latent: Vec<f32>, seed: u64| {
        latent
            .iter_mut()
            .zip(&mean)
            .for_each(|(a, m)| *a -= 2.0 * m);
        add_noise(&mut latent, sigma_for_flip_rate(0.3), &mut rng(seed));
        latent
    };
    let attacked = attack(embed(&key(1), target, SHAPE, &mut rng(99))?, 98);
    let ring = KeyRing::single(key(1));
    let options = DetectOptions::default();
    let plain = detect(&ring, &attacked, SHAPE, &options)?;
    assert!(
        !plain.present(),
        "the pilots should be gone: p = 10^{}",
        plain.log10_p_value()
    );
    let mut candidates: Vec<Payload> = (0..40)
        .map(|_| Payload::new(rand::Rng::gen(&mut ids)))
        .collect();
    candidates.push(target);
    let found = detect_among_candidates(&ring, &attacked, SHAPE, &candidates, &options)?
        .ok_or_else(|| WatermarkError::InvalidOption("the codeword was not found".into()))?;
    assert_eq!(found.payload, target);
    assert!(found.log10_p_value <= -9.0, "{}", found.log10_p_value);
    // Without a store (no candidates at all) the codeword decodes on its own, and its bound, paid
    // for every payload the decoder could have read, still clears the threshold.
    let decoded = detect_by_decoding(&ring, &attacked, SHAPE, &options)?
        .ok_or_else(|| WatermarkError::InvalidOption("the codeword did not decode".into()))?;
    assert_eq!(decoded.payload, target);
    assert!(decoded.log10_p_value <= -9.0, "{}", decoded.log10_p_value);
    assert_eq!(decoded.alignment.first(), Some(&(0, 0)));
    for seed in 0..5 {
        let fresh = attack(gaussian(SHAPE.len(), &mut rng(8000 + seed)), 8100 + seed);
        assert_eq!(
            detect_among_candidates(&ring, &fresh, SHAPE, &candidates, &options)?,
            None
        );
        assert_eq!(detect_by_decoding(&ring, &fresh, SHAPE, &options)?, None);
    }
    Ok(())
}

/// The decoded-codeword test reads a clean clip and an excerpt that starts a few frames in, finds
/// nothing in fresh noise or under another key, and never reports a payload the p-value does not
/// carry.
#[test]
fn a_codeword_decodes_without_candidates_and_noise_does_not() -> Result<(), WatermarkError> {
    let ring = KeyRing::single(key(1));
    let options = DetectOptions::default();
    let clean = marked_with_flips(11, 0.3, 12)?;
    let found = detect_by_decoding(&ring, &clean, SHAPE, &options)?
        .ok_or_else(|| WatermarkError::InvalidOption("a clean clip did not decode".into()))?;
    assert_eq!(found.payload, Payload::new(11 ^ 0xdead_beef));
    assert!(found.log10_p_value < -20.0, "{}", found.log10_p_value);
    // Frames 3.. of the clip, as an excerpt from its start would be three frames later.
    let excerpt_shape = LatentShape::new(12, SHAPE.channels, SHAPE.height, SHAPE.width);
    let excerpt = clean[3 * SHAPE.frame_len()..15 * SHAPE.frame_len()].to_vec();
    let found = detect_by_decoding(&ring, &excerpt, excerpt_shape, &options)?
        .ok_or_else(|| WatermarkError::InvalidOption("the excerpt did not decode".into()))?;
    assert_eq!(found.payload, Payload::new(11 ^ 0xdead_beef));
    assert_eq!(found.alignment.first(), Some(&(0, 3)));
    assert_eq!(
        detect_by_decoding(&KeyRing::single(key(2)), &clean, SHAPE, &options)?,
        None
    );
    for seed in 0..20 {
        let noise = gaussian(SHAPE.len(), &mut rng(9000 + seed));
        assert_eq!(
            detect_by_decoding(&ring, &noise, SHAPE, &options)?,
            None,
            "seed {seed}"
        );
    }
    let tiny = LatentShape::new(1, 1, 2, 2);
    assert_eq!(detect_by_decoding(&ring, &[0.5; 4], tiny, &options)?, None);
    assert!(detect_by_decoding(&ring, &[0.5; 3], tiny, &options).is_err());
    Ok(())
}
