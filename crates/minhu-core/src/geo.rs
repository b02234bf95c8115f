//! Place from coordinates: which region a point lies in, from the regions' boundary
//! polygons (`boundaries.geojson` in the city directory, loaded by the config crate).
//!
//! An app or a map pin gives a point, not a name; routing needs the community or grid
//! that answers for it. Polygons may nest (a grid inside its community inside its
//! street): the deepest region whose polygon holds the point wins.

use crate::ids::RegionId;
use crate::region::{ConfigProblem, Region, RegionTree};
use crate::ticket::GeoPoint;
use std::collections::HashMap;

/// One closed ring of (longitude, latitude) vertices, GeoJSON's order.
pub type Ring = Vec<[f64; 2]>;

/// A polygon: its outer ring, then any holes.
#[derive(Clone, Debug, PartialEq)]
pub struct Polygon {
    pub rings: Vec<Ring>,
}

/// A region's area: one polygon or several (an exclave).
#[derive(Clone, Debug, PartialEq)]
pub struct Boundary {
    pub region: RegionId,
    pub polygons: Vec<Polygon>,
}

/// Every configured boundary, with a bounding box each so that most are ruled out by
/// four comparisons, and its centre (where a ticket placed only by name is shown).
#[derive(Clone, Debug, Default)]
pub struct Boundaries {
    shapes: Vec<(Boundary, [f64; 4])>,
    centres: HashMap<RegionId, GeoPoint>,
    schematic: bool,
}

/// Even-odd rule: a horizontal ray from the point crosses the ring's edges an odd number
/// of times when the point is inside.
fn ring_contains(ring: &Ring, x: f64, y: f64) -> bool {
    let mut inside = false;
    let mut previous = ring[ring.len() - 1];
    for &vertex in ring {
        let ([x1, y1], [x2, y2]) = (previous, vertex);
        if (y1 > y) != (y2 > y) && x < x1 + (y - y1) * (x2 - x1) / (y2 - y1) {
            inside = !inside;
        }
        previous = vertex;
    }
    inside
}

impl Polygon {
    pub fn contains(&self, x: f64, y: f64) -> bool {
        let mut rings = self.rings.iter();
        rings.next().is_some_and(|outer| ring_contains(outer, x, y))
            && !rings.any(|hole| ring_contains(hole, x, y))
    }
}

/// A ring's signed area (shoelace; positive counter-clockwise) and the area-weighted sum
/// of its centroid, in (longitude, latitude) degrees: over a city's few kilometres the
/// degrees are flat enough for a centre.
fn ring_moments(ring: &Ring) -> (f64, f64, f64) {
    let (mut area, mut x, mut y) = (0.0, 0.0, 0.0);
    let mut previous = ring[ring.len() - 1];
    for &vertex in ring {
        let ([x1, y1], [x2, y2]) = (previous, vertex);
        let cross = x1 * y2 - x2 * y1;
        area += cross;
        x += (x1 + x2) * cross;
        y += (y1 + y2) * cross;
        previous = vertex;
    }
    (area / 2.0, x / 6.0, y / 6.0)
}

/// The centroid of a boundary's area (holes taken out, exclaves weighed by their size);
/// the middle of its box when the area is nil.
fn centroid(boundary: &Boundary, bbox: [f64; 4]) -> GeoPoint {
    let (mut area, mut x, mut y) = (0.0, 0.0, 0.0);
    for polygon in &boundary.polygons {
        for (index, ring) in polygon.rings.iter().enumerate() {
            let (a, rx, ry) = ring_moments(ring);
            // Outer rings add, holes subtract, whichever way each was drawn.
            let sign = if (index == 0) == (a >= 0.0) {
                1.0
            } else {
                -1.0
            };
            area += sign * a;
            x += sign * rx;
            y += sign * ry;
        }
    }
    if area.abs() < 1e-12 {
        return GeoPoint {
            lon: (bbox[0] + bbox[2]) / 2.0,
            lat: (bbox[1] + bbox[3]) / 2.0,
        };
    }
    GeoPoint {
        lon: x / area,
        lat: y / area,
    }
}

impl Boundaries {
    /// Marks the outlines as schematic: drawn to place points and show figures, not the
    /// real boundaries (an anonymised city's, invented). Maps say so.
    pub fn schematic(mut self, schematic: bool) -> Self {
        self.schematic = schematic;
        self
    }

    /// Whether the outlines are invented (see [`Boundaries::schematic`]).
    pub fn is_schematic(&self) -> bool {
        self.schematic
    }

    /// Checks that each boundary names a known region (`item` of a problem is the
    /// boundary's index) and that every ring has at least three distinct vertices.
    pub fn new(boundaries: Vec<Boundary>, regions: &RegionTree) -> Result<Self, ConfigProblem> {
        let mut shapes = Vec::with_capacity(boundaries.len());
        for (item, boundary) in boundaries.into_iter().enumerate() {
            if regions.get(&boundary.region).is_none() {
                return Err(ConfigProblem::new(
                    item,
                    "region",
                    format!(
                        "{:?} is not a region of regions.toml",
                        boundary.region.as_str()
                    ),
                ));
            }
            if boundary.polygons.is_empty() {
                return Err(ConfigProblem::new(item, "geometry", "has no polygon"));
            }
            let mut bbox = [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ];
            for ring in boundary.polygons.iter().flat_map(|p| &p.rings) {
                let mut distinct = ring.clone();
                distinct.dedup();
                if distinct.first() == distinct.last() && distinct.len() > 1 {
                    distinct.pop();
                }
                if distinct.len() < 3 {
                    return Err(ConfigProblem::new(
                        item,
                        "geometry",
                        "a ring needs at least three distinct [longitude, latitude] points",
                    ));
                }
                if let Some(bad) = ring
                    .iter()
                    .find(|[x, y]| !(x.abs() <= 180.0 && y.abs() <= 90.0))
                {
                    return Err(ConfigProblem::new(
                        item,
                        "geometry",
                        format!(
                            "[{}, {}] is not a [longitude, latitude] point",
                            bad[0], bad[1]
                        ),
                    ));
                }
                for &[x, y] in ring {
                    bbox = [
                        bbox[0].min(x),
                        bbox[1].min(y),
                        bbox[2].max(x),
                        bbox[3].max(y),
                    ];
                }
            }
            shapes.push((boundary, bbox));
        }
        let centres = shapes
            .iter()
            .map(|(boundary, bbox)| (boundary.region.clone(), centroid(boundary, *bbox)))
            .collect();
        Ok(Self {
            shapes,
            centres,
            schematic: false,
        })
    }

    /// Where a ticket placed in `region` is shown when it has no point of its own: the
    /// centre of the region's boundary, or of the nearest region around it that has one
    /// (a community without an outline is shown at its street's centre).
    pub fn centre_of(&self, region: &RegionId, regions: &RegionTree) -> Option<GeoPoint> {
        regions
            .ancestry(region)
            .find_map(|r| self.centres.get(&r.id).copied())
    }

    pub fn is_empty(&self) -> bool {
        self.shapes.is_empty()
    }

    /// Every boundary, in the file's order (to draw them on a map).
    pub fn all(&self) -> impl Iterator<Item = &Boundary> {
        self.shapes.iter().map(|(boundary, _)| boundary)
    }

    /// The deepest region whose boundary holds the point (a grid over its community,
    /// a community over its street); ties at one level go to the first listed.
    pub fn locate<'a>(&self, point: GeoPoint, regions: &'a RegionTree) -> Option<&'a Region> {
        let (x, y) = (point.lon, point.lat);
        self.shapes
            .iter()
            .filter(|(_, [x0, y0, x1, y1])| *x0 <= x && x <= *x1 && *y0 <= y && y <= *y1)
            .filter(|(shape, _)| shape.polygons.iter().any(|p| p.contains(x, y)))
            .filter_map(|(shape, _)| regions.get(&shape.region))
            .fold(None, |best: Option<&Region>, region| match best {
                Some(b) if b.level >= region.level => Some(b),
                _ => Some(region),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::tests::sample_tree;

    fn square(region: &str, x0: f64, y0: f64, size: f64) -> Boundary {
        let ring = vec![
            [x0, y0],
            [x0 + size, y0],
            [x0 + size, y0 + size],
            [x0, y0 + size],
            [x0, y0],
        ];
        Boundary {
            region: RegionId::new(region),
            polygons: vec![Polygon { rings: vec![ring] }],
        }
    }

    fn at(lon: f64, lat: f64) -> GeoPoint {
        GeoPoint { lat, lon }
    }

    #[test]
    fn a_region_without_an_outline_is_shown_at_the_centre_of_the_one_around_it() {
        let tree = sample_tree();
        // A3 is a square with a square hole in its lower-left quarter: the centre moves
        // up and right of the square's middle.
        let mut district = square("A3", 112.0, 28.0, 1.0);
        district.polygons[0].rings.push(vec![
            [112.0, 28.0],
            [112.5, 28.0],
            [112.5, 28.5],
            [112.0, 28.5],
            [112.0, 28.0],
        ]);
        let boundaries =
            Boundaries::new(vec![district, square("A3-01", 112.6, 28.6, 0.2)], &tree).unwrap();
        let centre = boundaries.centre_of(&RegionId::new("A3"), &tree).unwrap();
        let expected = (112.5 - 0.25 * 112.25) / 0.75;
        assert!((centre.lon - expected).abs() < 1e-9, "{centre:?}");
        assert!((centre.lat - (28.5 - 0.25 * 28.25) / 0.75).abs() < 1e-9);
        let street = boundaries
            .centre_of(&RegionId::new("A3-01"), &tree)
            .unwrap();
        assert!((street.lon - 112.7).abs() < 1e-9 && (street.lat - 28.7).abs() < 1e-9);
        // A community inside A3-01 without an outline of its own: its street's centre.
        assert_eq!(
            boundaries.centre_of(&RegionId::new("A3-01-01"), &tree),
            Some(street)
        );
        assert_eq!(boundaries.centre_of(&RegionId::new("A"), &tree), None);
    }

    #[test]
    fn the_deepest_region_holding_the_point_wins() {
        let tree = sample_tree();
        // 洋湖社区 inside 洋湖街道 inside A3区.
        let (district, street, deeper) = ("A3", "A3-01", "A3-01-01");
        let boundaries = Boundaries::new(
            vec![
                square(district, 112.0, 28.0, 1.0),
                square(street, 112.2, 28.2, 0.3),
                square(deeper, 112.3, 28.3, 0.1),
            ],
            &tree,
        )
        .unwrap();
        let id = |p: GeoPoint| boundaries.locate(p, &tree).map(|r| r.id.as_str());
        assert_eq!(id(at(112.35, 28.35)), Some(deeper));
        assert_eq!(id(at(112.25, 28.25)), Some(street));
        assert_eq!(id(at(112.9, 28.9)), Some(district));
        assert_eq!(id(at(100.0, 20.0)), None);
    }

    #[test]
    fn holes_are_outside() {
        let outer = vec![
            [0.0, 0.0],
            [10.0, 0.0],
            [10.0, 10.0],
            [0.0, 10.0],
            [0.0, 0.0],
        ];
        let hole = vec![[4.0, 4.0], [6.0, 4.0], [6.0, 6.0], [4.0, 6.0], [4.0, 4.0]];
        let polygon = Polygon {
            rings: vec![outer, hole],
        };
        assert!(polygon.contains(1.0, 1.0));
        assert!(!polygon.contains(5.0, 5.0));
        assert!(!polygon.contains(11.0, 5.0));
        // A concave outline: an L shape.
        let l_shape = Polygon {
            rings: vec![vec![
                [0.0, 0.0],
                [2.0, 0.0],
                [2.0, 1.0],
                [1.0, 1.0],
                [1.0, 2.0],
                [0.0, 2.0],
            ]],
        };
        assert!(l_shape.contains(0.5, 1.5));
        assert!(!l_shape.contains(1.5, 1.5));
    }

    #[test]
    fn bad_boundaries_name_the_item_and_field() {
        let tree = sample_tree();
        let err = Boundaries::new(
            vec![square("A3", 0.0, 0.0, 1.0), square("Z9", 0.0, 0.0, 1.0)],
            &tree,
        )
        .unwrap_err();
        assert_eq!((err.item, err.field), (1, "region"));
        let mut degenerate = square("A3", 0.0, 0.0, 1.0);
        degenerate.polygons[0].rings[0] = vec![[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]];
        let err = Boundaries::new(vec![degenerate], &tree).unwrap_err();
        assert_eq!(err.field, "geometry");
        let far = square("A3", 200.0, 0.0, 1.0);
        assert!(Boundaries::new(vec![far], &tree).is_err());
    }
}
