//! The attack catalogue: what platforms and adversaries do to a clip, as ffmpeg command lines.
//! One list, used by `bench robustness` and by `scripts/calibrate-detector.sh` (through
//! `candor bench robustness --list`).

use std::path::Path;

use crate::{ffmpeg, Result};

/// An attack: a name, the output extension and the ffmpeg arguments between input and output.
pub struct Attack {
    pub name: &'static str,
    pub ext: &'static str,
    /// Video filter graph (`-vf`), if the attack is a filter.
    pub filter: Option<&'static str>,
    /// Output (encoder) arguments.
    pub output: &'static [&'static str],
}

/// Filters re-encode with x264 CRF 18, so the filter is the attack, not the codec.
const X264_CRF18: &[&str] = &["-c:v", "libx264", "-crf", "18"];

impl Attack {
    /// A re-encode to `ext` with these encoder arguments.
    const fn encode(
        name: &'static str,
        ext: &'static str,
        output: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            ext,
            filter: None,
            output,
        }
    }

    /// A video filter, then x264 CRF 18.
    const fn filter(name: &'static str, filter: &'static str) -> Self {
        Self {
            name,
            ext: "mp4",
            filter: Some(filter),
            output: X264_CRF18,
        }
    }

    /// The ffmpeg arguments between input and output.
    pub fn args(&self) -> Vec<&'static str> {
        let mut args = Vec::new();
        if let Some(f) = self.filter {
            args.extend(["-vf", f]);
        }
        args.extend(self.output);
        args
    }
}

pub const ATTACKS: &[Attack] = &[
    Attack::encode("none", "mp4", &["-c", "copy"]),
    Attack::encode("h264-crf23", "mp4", &["-c:v", "libx264", "-crf", "23"]),
    Attack::encode("h264-crf30", "mp4", &["-c:v", "libx264", "-crf", "30"]),
    Attack::encode("h264-crf40", "mp4", &["-c:v", "libx264", "-crf", "40"]),
    Attack::encode(
        "hevc-crf28",
        "mp4",
        &[
            "-c:v",
            "libx265",
            "-crf",
            "28",
            "-x265-params",
            "log-level=error",
            "-tag:v",
            "hvc1",
        ],
    ),
    Attack::encode(
        "vp9-crf40",
        "webm",
        &[
            "-c:v",
            "libvpx-vp9",
            "-b:v",
            "0",
            "-crf",
            "40",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
        ],
    ),
    Attack {
        output: &["-c:v", "libx264", "-crf", "30"],
        ..Attack::filter("half-size-crf30", "scale=iw/2:-2")
    },
    Attack::filter("resize-0.5-and-back", "scale=iw/2:-2,scale=iw*2:-2"),
    Attack::filter(
        "crop-0.8-resize",
        "crop=iw*0.8:ih*0.8,scale='trunc(iw*1.25/2+0.5)*2':-2",
    ),
    Attack::filter("letterbox-4:3", "scale=iw:ih*3/4,pad=iw:ih*4/3:0:(oh-ih)/2"),
    Attack::filter("fps-8-to-12", "fps=12"),
    Attack {
        output: &["-r", "8", "-c:v", "libx264", "-crf", "18"],
        ..Attack::filter(
            "drop-25pct-frames",
            "select='not(eq(mod(n\\,4)\\,3))',setpts=N/8/TB",
        )
    },
    Attack::filter("brightness+20pct", "lutrgb=r=val*1.2:g=val*1.2:b=val*1.2"),
    Attack::filter("brightness-20pct", "lutrgb=r=val*0.8:g=val*0.8:b=val*0.8"),
    Attack::filter("contrast-1.3", "eq=contrast=1.3"),
    Attack::filter("gaussian-noise", "noise=alls=12:allf=t"),
    Attack::filter("blur-1.5", "gblur=sigma=1.5"),
    Attack::filter("hflip", "hflip"),
    // The OmniSealBench video grid (its `video_attacks.yaml`), and what upload pipelines do.
    Attack::encode("h264-crf50", "mp4", &["-c:v", "libx264", "-crf", "50"]),
    Attack::encode("hevc-crf23", "mp4", &X265[0]),
    Attack::encode("hevc-crf30", "mp4", &X265[1]),
    Attack::encode("hevc-crf40", "mp4", &X265[2]),
    Attack::encode("hevc-crf50", "mp4", &X265[3]),
    Attack::encode(
        "vp9-crf30",
        "webm",
        &[
            "-c:v",
            "libvpx-vp9",
            "-b:v",
            "0",
            "-crf",
            "30",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
        ],
    ),
    Attack::encode("mjpeg-q10", "avi", &["-c:v", "mjpeg", "-q:v", "10"]),
    Attack::filter("crop-0.71-resize", "crop=iw*0.71:ih*0.71,scale=128:128"),
    Attack::filter("crop-0.55-resize", "crop=iw*0.55:ih*0.55,scale=128:128"),
    Attack::filter("resize-0.71", "scale=trunc(iw*0.71/2)*2:-2"),
    Attack::filter("resize-0.55", "scale=trunc(iw*0.55/2)*2:-2"),
    Attack::filter("rotate-90", "transpose=1"),
    Attack::filter("rotate-180", "hflip,vflip"),
    Attack::filter("rotate-270", "transpose=2"),
    Attack::filter("rotate+10", "rotate=10*PI/180"),
    Attack::filter("rotate-10", "rotate=-10*PI/180"),
    Attack::filter("median-3", "median=radius=1"),
    Attack::filter("hue+20-saturation1.3", "hue=h=20:s=1.3"),
    Attack {
        output: &["-c:v", "libx264", "-crf", "30"],
        ..Attack::filter(
            "h264-crf30+crop-0.8+brightness",
            "crop=iw*0.8:ih*0.8,scale=128:128,lutrgb=r=val*1.2:g=val*1.2:b=val*1.2",
        )
    },
    Attack {
        output: &["-c:v", "libx264", "-crf", "23"],
        ..Attack::filter("upscale-720p-25fps", "scale=1280:720,fps=25")
    },
    Attack {
        output: &["-c:v", "libx264", "-crf", "23"],
        ..Attack::filter("upscale-720p-30fps-blend", "scale=1280:720,framerate=30")
    },
];

/// x265 at CRF 23, 30, 40 and 50, quiet.
const X265: [[&str; 8]; 4] = [x265("23"), x265("30"), x265("40"), x265("50")];

const fn x265(crf: &'static str) -> [&'static str; 8] {
    [
        "-c:v",
        "libx265",
        "-crf",
        crf,
        "-x265-params",
        "log-level=error",
        "-tag:v",
        "hvc1",
    ]
}

/// Runs `ffmpeg -i input ARGS output`.
pub fn apply(attack: &Attack, input: &Path, output: &Path) -> Result<()> {
    let mut args: Vec<&std::ffi::OsStr> = vec!["-i".as_ref(), input.as_os_str()];
    args.extend(attack.args().into_iter().map(std::ffi::OsStr::new));
    args.push(output.as_os_str());
    ffmpeg(&args, &format!("attack {}", attack.name))
}
