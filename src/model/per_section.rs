//! One value for each of the two tables, reached by `Section`: the pair the app, the feed and
//! the snapshot each keep (selections, views, watch state), written once.

use std::ops::{Index, IndexMut};

use super::Section;

/// A `T` for the custom table and one for the Hasura table; `pair[section]` reaches either.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerSection<T> {
    pub custom: T,
    pub hasura: T,
}

impl<T> PerSection<T> {
    /// Both values, each made for its section.
    pub fn from_fn(mut make: impl FnMut(Section) -> T) -> Self {
        PerSection {
            custom: make(Section::Custom),
            hasura: make(Section::Hasura),
        }
    }

    /// Both values in table order (custom first, as drawn).
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        [&self.custom, &self.hasura].into_iter()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        [&mut self.custom, &mut self.hasura].into_iter()
    }
}

impl<T> Index<Section> for PerSection<T> {
    type Output = T;

    fn index(&self, section: Section) -> &T {
        match section {
            Section::Custom => &self.custom,
            Section::Hasura => &self.hasura,
        }
    }
}

impl<T> IndexMut<Section> for PerSection<T> {
    fn index_mut(&mut self, section: Section) -> &mut T {
        match section {
            Section::Custom => &mut self.custom,
            Section::Hasura => &mut self.hasura,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_section_reaches_its_own_value() {
        let mut pair = PerSection::from_fn(|s| s.as_str().to_string());
        assert_eq!(pair[Section::Custom], "custom");
        assert_eq!(pair[Section::Hasura], "hasura");
        pair[Section::Hasura].push('!');
        assert_eq!(pair.iter().collect::<Vec<_>>(), ["custom", "hasura!"]);
    }
}
