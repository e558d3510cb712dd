//! An RGB frame with its presentation time.

/// One decoded picture: packed RGB24, row-major, `width * height * 3` bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct RgbFrame {
    /// Position among the decoded frames of the stream (before stride is applied).
    pub index: usize,
    /// Presentation time in seconds from the stream start, when the container gives one.
    pub pts_seconds: Option<f64>,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl RgbFrame {
    /// A frame from raw RGB24 bytes; `None` when the length does not match the size.
    pub fn new(width: u32, height: u32, data: Vec<u8>) -> Option<Self> {
        (data.len() == width as usize * height as usize * 3).then_some(Self {
            index: 0,
            pts_seconds: None,
            width,
            height,
            data,
        })
    }

    /// The frame area-averaged to `width×height` ([`crate::pixels::resize_area`]), as RGB24 bytes.
    pub fn resized_area(&self, width: usize, height: usize) -> Vec<u8> {
        crate::pixels::resize_area(
            &self.data,
            self.width as usize,
            self.height as usize,
            width,
            height,
        )
    }

    /// Peak signal-to-noise ratio against another frame of the same size, in dB.
    pub fn psnr(&self, other: &RgbFrame) -> Option<f64> {
        if self.width != other.width || self.height != other.height {
            return None;
        }
        let mse = self
            .data
            .iter()
            .zip(&other.data)
            .map(|(&a, &b)| {
                let d = f64::from(a) - f64::from(b);
                d * d
            })
            .sum::<f64>()
            / self.data.len().max(1) as f64;
        Some(if mse == 0.0 {
            f64::INFINITY
        } else {
            10.0 * (255.0 * 255.0 / mse).log10()
        })
    }
}
