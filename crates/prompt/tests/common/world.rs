/// The default Candor model's world, as candor-generate passes it (for tests and examples; the
/// crate itself never names a colour or a shape).
pub fn world() -> World {
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
    World {
        colours: v(&[
            "red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "white", "gray",
        ]),
        shapes: v(&["circle", "square", "triangle", "star", "diamond"]),
        motions: v(&[
            "moving left",
            "moving right",
            "moving up",
            "moving down",
            "moving up left",
            "moving up right",
            "moving down left",
            "moving down right",
            "bouncing",
            "growing",
            "shrinking",
            "staying still",
        ]),
        backgrounds: v(&["sky", "sunset", "night", "grass", "gray", "sand"]),
    }
}
