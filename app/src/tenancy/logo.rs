//! Logo uploads: checked by content (never by name or declared type), size-limited,
//! decoded under memory limits, and re-encoded as PNG renditions for the header and
//! the app icons. Re-encoding drops anything but pixels (metadata, scripts).

use image::{imageops::FilterType, DynamicImage, ImageFormat, ImageReader, RgbaImage};
use std::io::Cursor;

/// Largest accepted upload.
pub const MAX_BYTES: usize = 1024 * 1024;
/// Largest accepted image side, against decompression bombs.
const MAX_SIDE: u32 = 4096;

/// The PNG renditions stored for one logo.
#[derive(Debug)]
pub struct Renditions {
    /// Fits 384 × 96, for headers and emails.
    pub header: Vec<u8>,
    /// 192 × 192, favicon and app icon.
    pub icon: Vec<u8>,
    /// 512 × 512, for the installable app.
    pub icon_large: Vec<u8>,
}

impl Renditions {
    pub fn total_bytes(&self) -> usize {
        self.header.len() + self.icon.len() + self.icon_large.len()
    }
}

fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    head.contains("<svg") || head.trim_start().starts_with("<?xml")
}

/// Checks and converts an uploaded logo. The error is a message for the person.
pub fn process(bytes: &[u8]) -> Result<Renditions, String> {
    if bytes.is_empty() {
        return Err("choose an image file to upload".into());
    }
    if bytes.len() > MAX_BYTES {
        return Err(format!(
            "the logo is {:.1} MB; the limit is 1 MB. Export it smaller and try again",
            bytes.len() as f64 / (1024.0 * 1024.0)
        ));
    }
    if looks_like_svg(bytes) {
        return Err(
            "SVG logos are not accepted because they can carry scripts; export the logo as PNG, JPEG or WebP"
                .into(),
        );
    }
    let format = image::guess_format(bytes)
        .ok()
        .filter(|f| matches!(f, ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP))
        .ok_or("this file is not a PNG, JPEG or WebP image")?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(128 * 1024 * 1024);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|_| format!("this image could not be read; it may be damaged or larger than {MAX_SIDE} × {MAX_SIDE} pixels"))?;
    if image.width() < 16 || image.height() < 16 {
        return Err("the logo must be at least 16 × 16 pixels".into());
    }
    Ok(Renditions {
        header: png(&image.resize(384, 96, FilterType::Lanczos3))?,
        icon: png(&DynamicImage::ImageRgba8(square(&image, 192)))?,
        icon_large: png(&DynamicImage::ImageRgba8(square(&image, 512)))?,
    })
}

/// The image fitted into a transparent square of `side` pixels, centred.
fn square(image: &DynamicImage, side: u32) -> RgbaImage {
    let fitted = image.resize(side, side, FilterType::Lanczos3).to_rgba8();
    let mut canvas = RgbaImage::new(side, side);
    let x = i64::from((side - fitted.width()) / 2);
    let y = i64::from((side - fitted.height()) / 2);
    image::imageops::overlay(&mut canvas, &fitted, x, y);
    canvas
}

fn png(image: &DynamicImage) -> Result<Vec<u8>, String> {
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|_| "the logo could not be converted; try another file".to_string())?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(format: ImageFormat, w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::ImageRgba8(RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([(x % 256) as u8, (y % 256) as u8, 120, 255])
        }));
        let img = if format == ImageFormat::Jpeg {
            DynamicImage::ImageRgb8(img.to_rgb8())
        } else {
            img
        };
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).expect("encode");
        out.into_inner()
    }

    fn dimensions(png: &[u8]) -> (u32, u32) {
        let img = image::load_from_memory_with_format(png, ImageFormat::Png).expect("png");
        (img.width(), img.height())
    }

    #[test]
    fn png_jpeg_and_webp_become_png_renditions_of_the_right_sizes() {
        for format in [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::WebP] {
            let out = process(&sample(format, 800, 200)).expect("accepted");
            assert_eq!(dimensions(&out.header), (384, 96), "{format:?}");
            assert_eq!(dimensions(&out.icon), (192, 192));
            assert_eq!(dimensions(&out.icon_large), (512, 512));
        }
    }

    #[test]
    fn svg_other_types_and_oversized_files_are_refused_with_a_reason() {
        let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
        assert!(process(svg).expect_err("svg").contains("SVG"));
        assert!(process(b"GIF89a....")
            .expect_err("gif")
            .contains("not a PNG"));
        // A PNG signature does not make a PNG.
        let mut fake = b"\x89PNG\r\n\x1a\n".to_vec();
        fake.extend_from_slice(&[0; 64]);
        assert!(process(&fake)
            .expect_err("damaged")
            .contains("could not be read"));
        let big = vec![0u8; MAX_BYTES + 1];
        assert!(process(&big).expect_err("big").contains("limit is 1 MB"));
    }
}
