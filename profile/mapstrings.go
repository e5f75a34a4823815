package profile

// MapStrings returns p with every string it holds (function and file
// names, mapping files and build IDs, label keys and values, sample and
// period type names, comments) replaced by f of it. The result shares p's
// samples; p is not changed. When f changes no string, p itself is
// returned. A front end makes a profile safe to print this way, once,
// where the profile enters its printing code (ui: safetext.Line).
func (p *Profile) MapStrings(f func(string) string) *Profile {
	if p == nil || !p.anyString(func(s string) bool { return f(s) != s }) {
		return p
	}
	q := *p
	mapVT := func(v ValueType) ValueType { return ValueType{Type: f(v.Type), Unit: f(v.Unit)} }
	q.SampleTypes = make([]ValueType, len(p.SampleTypes))
	for i, v := range p.SampleTypes {
		q.SampleTypes[i] = mapVT(v)
	}
	q.DefaultSampleType = f(p.DefaultSampleType)
	q.PeriodType = mapVT(p.PeriodType)
	q.Comments = make([]string, len(p.Comments))
	for i, c := range p.Comments {
		q.Comments[i] = f(c)
	}
	q.Mappings = make([]Mapping, len(p.Mappings))
	for i, m := range p.Mappings {
		q.Mappings[i] = Mapping{File: f(m.File), BuildID: f(m.BuildID)}
	}
	q.Functions = make([]Function, len(p.Functions))
	for i, fn := range p.Functions {
		q.Functions[i] = Function{Name: f(fn.Name), SystemName: f(fn.SystemName), Filename: f(fn.Filename), StartLine: fn.StartLine}
	}
	if p.labels != nil {
		q.labels = make([]Label, len(p.labels))
		for i, l := range p.labels {
			q.labels[i] = Label{Key: f(l.Key), Value: f(l.Value)}
		}
	}
	return &q
}

// anyString reports whether pred holds for a string of p.
func (p *Profile) anyString(pred func(string) bool) bool {
	for _, v := range p.SampleTypes {
		if pred(v.Type) || pred(v.Unit) {
			return true
		}
	}
	if pred(p.DefaultSampleType) || pred(p.PeriodType.Type) || pred(p.PeriodType.Unit) {
		return true
	}
	for _, c := range p.Comments {
		if pred(c) {
			return true
		}
	}
	for _, m := range p.Mappings {
		if pred(m.File) || pred(m.BuildID) {
			return true
		}
	}
	for _, fn := range p.Functions {
		if pred(fn.Name) || pred(fn.SystemName) || pred(fn.Filename) {
			return true
		}
	}
	for _, l := range p.labels {
		if pred(l.Key) || pred(l.Value) {
			return true
		}
	}
	return false
}
