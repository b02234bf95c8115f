//! `boundaries.geojson`: optional region outlines (drawn in GIS tools), each feature
//! naming a region of `regions.toml`, so points can be placed in regions.

use super::*;

#[derive(Deserialize)]
struct GeoJson {
    #[serde(rename = "type")]
    kind: String,
    /// `"schematic": true` (a foreign member of the collection): the outlines are
    /// invented, not the real boundaries; maps say so.
    #[serde(default)]
    schematic: bool,
    features: Vec<GeoFeature>,
}

#[derive(Deserialize)]
struct GeoFeature {
    properties: GeoProperties,
    geometry: GeoGeometry,
}

#[derive(Deserialize)]
struct GeoProperties {
    region: String,
}

/// Reads `boundaries.geojson` when the city has one: a FeatureCollection whose features
/// name their region in `properties.region` and have a Polygon or MultiPolygon geometry;
/// `"schematic": true` beside `features` marks invented outlines.
pub(super) fn load_boundaries(
    files: Files,
    regions: &RegionTree,
) -> Result<Boundaries, ConfigError> {
    if !files.exists("boundaries.geojson") {
        return Ok(Boundaries::default());
    }
    let source = files.read("boundaries.geojson")?;
    let file: GeoJson = serde_json::from_str(&source.text).map_err(|e| ConfigError {
        file: source.path.clone(),
        line: Some(e.line()),
        problem: e.to_string(),
    })?;
    if file.kind != "FeatureCollection" {
        return Err(source.error(
            None,
            format!(
                "type: expected \"FeatureCollection\", found {:?}",
                file.kind
            ),
        ));
    }
    let boundaries: Vec<Boundary> = file
        .features
        .into_iter()
        .map(|feature| Boundary {
            region: RegionId::new(feature.properties.region),
            polygons: match feature.geometry {
                GeoGeometry::Polygon(rings) => vec![Polygon { rings }],
                GeoGeometry::MultiPolygon(polygons) => polygons
                    .into_iter()
                    .map(|rings| Polygon { rings })
                    .collect(),
            },
        })
        .collect();
    Boundaries::new(boundaries, regions)
        .map(|b| b.schematic(file.schematic))
        .map_err(|p| {
            source.error(
                None,
                format!("features[{}]: {}: {}", p.item, p.field, p.message),
            )
        })
}
