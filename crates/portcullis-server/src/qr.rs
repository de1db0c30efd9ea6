//! QR codes of `otpauth://` URIs, as SVG (for pages) and PNG (for anything else).

use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};

/// Quiet zone around the code, in modules (the QR specification asks for four).
const QUIET: usize = 4;
/// PNG pixels per module.
const SCALE: usize = 6;

/// Why a QR code could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot render the QR code: {0}")]
pub struct QrError(String);

fn code(data: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|e| QrError(e.to_string()))
}

/// An SVG document showing `data`.
///
/// # Errors
/// Data too long for a QR code.
pub fn svg(data: &str) -> Result<String, QrError> {
    Ok(code(data)?
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// A grayscale PNG showing `data`.
///
/// # Errors
/// Data too long for a QR code, or an encoder failure.
pub fn png(data: &str) -> Result<Vec<u8>, QrError> {
    let code = code(data)?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules + QUIET, i / modules + QUIET);
        for y in my * SCALE..(my + 1) * SCALE {
            pixels[y * side + mx * SCALE..y * side + (mx + 1) * SCALE].fill(0);
        }
    }
    let side32 = u32::try_from(side).map_err(|e| QrError(e.to_string()))?;
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side32, side32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| QrError(e.to_string()))?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| QrError(e.to_string()))?;
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn svg_and_png_are_well_formed() {
        let uri = "otpauth://totp/Portcullis:ada%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Portcullis";
        let s = svg(uri).unwrap();
        assert!(s.contains("<svg") && s.contains("</svg>"));
        let p = png(uri).unwrap();
        assert_eq!(&p[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(&p));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!(info.width, info.height);
        assert!(info.width >= 200);
    }

    #[test]
    fn oversized_data_is_an_error_not_a_panic() {
        assert!(svg(&"x".repeat(5000)).is_err());
        assert!(png(&"x".repeat(5000)).is_err());
    }
}
