//! IPTC digital source types, in the words a newsroom uses.

use c2pa::DigitalSourceType;

/// The source types `candor sign --source-type` accepts, with their IPTC names.
pub const SOURCE_TYPES: &[(&str, DigitalSourceType)] = &[
    ("digitalCapture", DigitalSourceType::DigitalCapture),
    (
        "computationalCapture",
        DigitalSourceType::ComputationalCapture,
    ),
    (
        "trainedAlgorithmicMedia",
        DigitalSourceType::TrainedAlgorithmicMedia,
    ),
    (
        "compositeWithTrainedAlgorithmicMedia",
        DigitalSourceType::CompositeWithTrainedAlgorithmicMedia,
    ),
    ("algorithmicMedia", DigitalSourceType::AlgorithmicMedia),
    (
        "algorithmicallyEnhanced",
        DigitalSourceType::AlgorithmicallyEnhanced,
    ),
    ("digitalCreation", DigitalSourceType::DigitalCreation),
    ("humanEdits", DigitalSourceType::HumanEdits),
    ("screenCapture", DigitalSourceType::ScreenCapture),
    ("negativeFilm", DigitalSourceType::NegativeFilm),
    ("positiveFilm", DigitalSourceType::PositiveFilm),
    ("print", DigitalSourceType::Print),
    ("dataDrivenMedia", DigitalSourceType::DataDrivenMedia),
];

/// Parses a short IPTC name (`digitalCapture`) or a full IPTC/C2PA URI.
pub fn parse_source_type(text: &str) -> Option<DigitalSourceType> {
    let short = text.rsplit('/').next().unwrap_or(text);
    SOURCE_TYPES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(short))
        .map(|(_, t)| t.clone())
}

/// Plain words for a digital source type URI, as shown in reports.
pub fn describe_source_type(uri: &str) -> String {
    let short = uri.rsplit('/').next().unwrap_or(uri);
    match short {
        "trainedAlgorithmicMedia" | "trainedAlgorithmicData" => "AI-generated",
        "compositeWithTrainedAlgorithmicMedia" => "composite including AI-generated material",
        "algorithmicMedia" => "made by an algorithm (not trained AI)",
        "algorithmicallyEnhanced" => "algorithmically enhanced",
        "digitalCapture" => "camera capture",
        "computationalCapture" => "camera capture with computational processing",
        "screenCapture" => "screen capture",
        "negativeFilm" | "positiveFilm" => "scanned film",
        "print" => "scanned print",
        "digitalCreation" | "digitalArt" => "made by a person with digital tools",
        "humanEdits" => "edited by a person",
        "minorHumanEdits" => "minor edits by a person",
        "softwareImage" => "software-rendered image",
        "dataDrivenMedia" => "data-driven media",
        "empty" => "empty content",
        _ => return format!("other ({short})"),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uris_parse() {
        assert!(matches!(
            parse_source_type("digitalCapture"),
            Some(DigitalSourceType::DigitalCapture)
        ));
        assert!(matches!(
            parse_source_type(
                "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
            ),
            Some(DigitalSourceType::TrainedAlgorithmicMedia)
        ));
        assert!(parse_source_type("painting").is_none());
    }

    #[test]
    fn ai_media_reads_as_ai_generated() {
        assert_eq!(
            describe_source_type(
                "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
            ),
            "AI-generated"
        );
        assert_eq!(
            describe_source_type("x/unknownThing"),
            "other (unknownThing)"
        );
    }
}
