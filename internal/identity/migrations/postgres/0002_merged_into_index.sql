-- The profiles merged into each profile, for reading a merge family (Family, RootFamily) and for
-- segments, which map merged profiles to their roots. Few profiles are merged, so the index holds
-- only those.
CREATE INDEX identity_profiles_merged_into ON identity_profiles (merged_into) WHERE merged_into IS NOT NULL;
