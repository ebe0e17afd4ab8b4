package native

import "strings"

// alpha3 maps ISO 3166-1 alpha-3 codes to alpha-2 for the countries
// parcels commonly cross; AfterShip sends alpha-3.
var alpha3 = map[string]string{
	"AUS": "AU", "AUT": "AT", "BEL": "BE", "BGR": "BG", "BRA": "BR", "CAN": "CA", "CHE": "CH", "CHL": "CL",
	"CHN": "CN", "COL": "CO", "CYP": "CY", "CZE": "CZ", "DEU": "DE", "DNK": "DK", "ESP": "ES", "EST": "EE",
	"FIN": "FI", "FRA": "FR", "GBR": "GB", "GRC": "GR", "HKG": "HK", "HRV": "HR", "HUN": "HU", "IDN": "ID",
	"IND": "IN", "IRL": "IE", "ISL": "IS", "ISR": "IL", "ITA": "IT", "JPN": "JP", "KOR": "KR", "LIE": "LI",
	"LTU": "LT", "LUX": "LU", "LVA": "LV", "MAR": "MA", "MEX": "MX", "MLT": "MT", "MYS": "MY", "NLD": "NL",
	"NOR": "NO", "NZL": "NZ", "PHL": "PH", "POL": "PL", "PRT": "PT", "ROU": "RO", "RUS": "RU", "SAU": "SA",
	"SGP": "SG", "SRB": "RS", "SVK": "SK", "SVN": "SI", "SWE": "SE", "THA": "TH", "TUR": "TR", "TWN": "TW",
	"UKR": "UA", "ARE": "AE", "USA": "US", "VNM": "VN", "ZAF": "ZA", "ARG": "AR", "EGY": "EG", "PER": "PE",
}

// countryCode returns an upper-case alpha-2 code for an alpha-2 or a known
// alpha-3 code, or "".
func countryCode(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	switch len(c) {
	case 2:
		if c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' {
			return c
		}
	case 3:
		return alpha3[c]
	}
	return ""
}
