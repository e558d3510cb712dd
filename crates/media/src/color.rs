//! Colour matrices for swscale: FFmpeg's RGB<->YUV conversion assumes BT.601 unless told otherwise,
//! which shifts colours of BT.709 video. We tell it.

use ffmpeg_next::ffi;
use ffmpeg_next::software::scaling;
use ffmpeg_next::util::color;

const SWS_CS_ITU709: i32 = 1;
const SWS_CS_ITU601: i32 = 5;
const SWS_CS_BT2020: i32 = 9;

/// swscale's colourspace id for a stream's matrix; unspecified SD follows FFmpeg and uses BT.601,
/// unspecified HD (height > 576) uses BT.709.
pub(crate) fn sws_colorspace(space: color::Space, height: u32) -> i32 {
    match space {
        color::Space::BT709 => SWS_CS_ITU709,
        color::Space::BT2020NCL | color::Space::BT2020CL => SWS_CS_BT2020,
        color::Space::BT470BG | color::Space::SMPTE170M => SWS_CS_ITU601,
        _ if height > 576 => SWS_CS_ITU709,
        _ => SWS_CS_ITU601,
    }
}

/// Sets the YUV matrix and range on a scaler. `yuv_is_source` says which side is YUV.
pub(crate) fn set_yuv_details(
    scaler: &mut scaling::Context,
    colorspace: i32,
    full_range: bool,
    yuv_is_source: bool,
) {
    let range = i32::from(full_range);
    // SAFETY: the scaler pointer is valid for the lifetime of `scaler`; sws_getCoefficients returns a
    // pointer to a static table; sws_setColorspaceDetails copies what it needs.
    unsafe {
        let table = ffi::sws_getCoefficients(colorspace);
        let ctx = scaler.as_mut_ptr();
        if yuv_is_source {
            // inv_table describes the source, table the destination (RGB: full range).
            ffi::sws_setColorspaceDetails(ctx, table, range, table, 1, 0, 1 << 16, 1 << 16);
        } else {
            ffi::sws_setColorspaceDetails(ctx, table, 1, table, range, 0, 1 << 16, 1 << 16);
        }
    }
}
