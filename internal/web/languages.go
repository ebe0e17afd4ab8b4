package web

// The customer pages, the calls' <Say> language and the SMS help words of
// the languages the message templates have beyond English, German, French
// and Spanish (internal/messaging/templates/: docs/templates.md), in the
// same register as their messages.
func init() {
	for lang, w := range map[string]pageWords{
		"it": {Title: "Il suo ordine", Sorry: "Ci dispiace: %s (ordine %s).", Choose: "Scelga la soluzione che preferisce",
			Submit: "Conferma la mia scelta", Done: "Cosa facciamo per lei:", Working: "Ce ne stiamo occupando e le scriveremo presto.",
			Healed: "Buone notizie: il problema si è risolto.", Thanks: "Grazie, abbiamo preso nota della sua scelta. Le stiamo inviando una conferma.",
			AlreadyChosen: "La scelta è già stata fatta, oppure il tempo per scegliere è scaduto.", Pick: "Scelga una delle opzioni, per favore.",
			Survey: "Com'è andata?", SurveyPick: "Scelga una delle tre risposte, per favore.", SurveyThanks: "Grazie per il suo riscontro.",
			More: "Fantastico! Se vuole, ci racconti di più: che cosa le è piaciuto?", MoreSend: "Invia", MoreThanks: "Grazie: lo leggerà tutto il team.",
			Person: "Parli con una persona", Call: "Ci chiami", Write: "Ci scriva",
			Reply:   "Oppure risponda semplicemente al nostro messaggio: ogni risposta viene letta da una persona.",
			Expired: "Questo link è scaduto.", Broken: "Questo link non funziona. Usi il link del nostro messaggio così com'è.",
			Unknown: "Non abbiamo trovato questo ordine.", Unsub: "Non ricevere più all'indirizzo %s email sui problemi dei suoi ordini?",
			UnsubButton: "Annulla l'iscrizione", Unsubscribed: "Fatto: %s non riceverà più email come questa da noi.",
			Error: "Qualcosa non ha funzionato da parte nostra. Riprovi tra un momento.", Answers: [3]string{"OW: male", "HOW: bene", "WOW: benissimo"}},
		"nl": {Title: "Je bestelling", Sorry: "Het spijt ons: %s (bestelling %s).", Choose: "Kies wat jou het beste uitkomt",
			Submit: "Mijn keuze bevestigen", Done: "Wat we voor je doen:", Working: "We zijn ermee bezig en laten snel van ons horen.",
			Healed: "Goed nieuws: het probleem is opgelost.", Thanks: "Bedankt, we hebben je keuze genoteerd. Er is een bevestiging onderweg.",
			AlreadyChosen: "Je keuze is al gemaakt, of de tijd om te kiezen is voorbij.", Pick: "Kies een van de opties.",
			Survey: "Hoe deden we het?", SurveyPick: "Kies een van de drie antwoorden.", SurveyThanks: "Dank je wel voor je antwoord.",
			More: "Geweldig! Vertel ons gerust meer: wat vond je goed?", MoreSend: "Versturen", MoreThanks: "Dank je wel: het hele team leest het.",
			Person: "Iemand spreken", Call: "Bel ons", Write: "Schrijf ons",
			Reply:   "Of beantwoord gewoon ons bericht: elk antwoord wordt door een mens gelezen.",
			Expired: "Deze link is verlopen.", Broken: "Deze link werkt niet. Gebruik de link uit ons bericht zoals hij is.",
			Unknown: "We konden deze bestelling niet vinden.", Unsub: "Geen e-mails meer over problemen met je bestellingen naar %s?",
			UnsubButton: "Afmelden", Unsubscribed: "Gelukt: %s krijgt dit soort e-mails niet meer van ons.",
			Error: "Er ging bij ons iets mis. Probeer het zo nog eens.", Answers: [3]string{"OW: niet goed", "HOW: prima", "WOW: geweldig"}},
		"pt": {Title: "A sua encomenda", Sorry: "Lamentamos: %s (encomenda %s).", Choose: "Escolha o que lhe for mais conveniente",
			Submit: "Confirmar a minha escolha", Done: "O que estamos a fazer por si:", Working: "Estamos a tratar do assunto e vamos escrever-lhe em breve.",
			Healed: "Boas notícias: o problema resolveu-se.", Thanks: "Obrigado, registámos a sua escolha. A confirmação vai a caminho.",
			AlreadyChosen: "A sua escolha já foi feita, ou o prazo para escolher terminou.", Pick: "Escolha uma das opções, por favor.",
			Survey: "Como correu?", SurveyPick: "Escolha uma das três respostas, por favor.", SurveyThanks: "Obrigado pela sua opinião.",
			More: "Fantástico! Se quiser, conte-nos mais: o que gostou?", MoreSend: "Enviar", MoreThanks: "Obrigado: toda a equipa vai ler.",
			Person: "Falar com uma pessoa", Call: "Ligue-nos", Write: "Escreva-nos",
			Reply:   "Ou responda simplesmente à nossa mensagem: cada resposta é lida por uma pessoa.",
			Expired: "Este link expirou.", Broken: "Este link não funciona. Use o link da nossa mensagem tal como está.",
			Unknown: "Não encontrámos esta encomenda.", Unsub: "Deixar de receber em %s e-mails sobre problemas com as suas encomendas?",
			UnsubButton: "Cancelar a subscrição", Unsubscribed: "Feito: %s não vai receber mais e-mails destes.",
			Error: "Algo correu mal do nosso lado. Tente novamente dentro de momentos.", Answers: [3]string{"OW: mal", "HOW: bem", "WOW: ótimo"}},
		"pl": {Title: "Twoje zamówienie", Sorry: "Przepraszamy: %s (zamówienie %s).", Choose: "Wybierz to, co najbardziej Ci odpowiada",
			Submit: "Potwierdź wybór", Done: "Co dla Ciebie robimy:", Working: "Zajmujemy się tym i wkrótce się odezwiemy.",
			Healed: "Dobra wiadomość: problem się rozwiązał.", Thanks: "Dziękujemy, zapisaliśmy Twój wybór. Potwierdzenie jest w drodze.",
			AlreadyChosen: "Wybór został już dokonany albo minął czas na wybór.", Pick: "Wybierz jedną z opcji.",
			Survey: "Jak nam poszło?", SurveyPick: "Wybierz jedną z trzech odpowiedzi.", SurveyThanks: "Dziękujemy za opinię.",
			More: "Wspaniale! Jeśli chcesz, napisz nam więcej: co Ci się spodobało?", MoreSend: "Wyślij", MoreThanks: "Dziękujemy: przeczyta to cały zespół.",
			Person: "Porozmawiaj z człowiekiem", Call: "Zadzwoń do nas", Write: "Napisz do nas",
			Reply:   "Możesz też po prostu odpowiedzieć na naszą wiadomość: każdą odpowiedź czyta człowiek.",
			Expired: "Ten link wygasł.", Broken: "Ten link nie działa. Użyj linku z naszej wiadomości bez zmian.",
			Unknown: "Nie znaleźliśmy tego zamówienia.", Unsub: "Nie wysyłać już na adres %s e-maili o problemach z Twoimi zamówieniami?",
			UnsubButton: "Wypisz się", Unsubscribed: "Gotowe: na adres %s nie będziemy już wysyłać takich e-maili.",
			Error: "Coś poszło nie tak po naszej stronie. Spróbuj ponownie za chwilę.", Answers: [3]string{"OW: słabo", "HOW: w porządku", "WOW: świetnie"}},
		"sv": {Title: "Din beställning", Sorry: "Vi ber om ursäkt: %s (beställning %s).", Choose: "Välj det som passar dig bäst",
			Submit: "Bekräfta mitt val", Done: "Det här gör vi för dig:", Working: "Vi arbetar på det och hör av oss snart.",
			Healed: "Goda nyheter: problemet har löst sig.", Thanks: "Tack, vi har noterat ditt val. En bekräftelse är på väg.",
			AlreadyChosen: "Ditt val är redan gjort, eller så har tiden för att välja gått ut.", Pick: "Välj ett av alternativen.",
			Survey: "Hur gick det?", SurveyPick: "Välj ett av de tre svaren.", SurveyThanks: "Tack för att du svarade.",
			More: "Vad roligt! Berätta gärna mer: vad var bra?", MoreSend: "Skicka", MoreThanks: "Tack! Hela teamet kommer att läsa det.",
			Person: "Prata med en person", Call: "Ring oss", Write: "Skriv till oss",
			Reply:   "Eller svara bara på vårt meddelande: en person läser varje svar.",
			Expired: "Den här länken har gått ut.", Broken: "Den här länken fungerar inte. Använd länken från vårt meddelande som den är.",
			Unknown: "Vi hittade inte den här beställningen.", Unsub: "Sluta skicka mejl om problem med dina beställningar till %s?",
			UnsubButton: "Avregistrera", Unsubscribed: "Klart: %s får inga fler sådana mejl från oss.",
			Error: "Något gick fel hos oss. Försök igen om en stund.", Answers: [3]string{"OW: inte bra", "HOW: okej", "WOW: toppen"}},
		"da": {Title: "Din ordre", Sorry: "Vi beklager: %s (ordre %s).", Choose: "Vælg det, der passer dig bedst",
			Submit: "Bekræft mit valg", Done: "Det gør vi for dig:", Working: "Vi arbejder på det og skriver til dig snart.",
			Healed: "Godt nyt: problemet har løst sig.", Thanks: "Tak, vi har noteret dit valg. En bekræftelse er på vej.",
			AlreadyChosen: "Dit valg er allerede truffet, eller fristen for at vælge er udløbet.", Pick: "Vælg en af mulighederne.",
			Survey: "Hvordan klarede vi det?", SurveyPick: "Vælg et af de tre svar.", SurveyThanks: "Tak, fordi du svarede.",
			More: "Dejligt! Fortæl os gerne mere: hvad var godt?", MoreSend: "Send", MoreThanks: "Tak! Hele holdet læser det.",
			Person: "Tal med et menneske", Call: "Ring til os", Write: "Skriv til os",
			Reply:   "Eller svar bare på vores besked: et menneske læser hvert svar.",
			Expired: "Dette link er udløbet.", Broken: "Dette link virker ikke. Brug linket fra vores besked, som det er.",
			Unknown: "Vi kunne ikke finde denne ordre.", Unsub: "Ikke flere mails om problemer med dine ordrer til %s?",
			UnsubButton: "Afmeld", Unsubscribed: "Færdig: %s får ikke flere mails som denne fra os.",
			Error: "Noget gik galt hos os. Prøv igen om et øjeblik.", Answers: [3]string{"OW: ikke godt", "HOW: fint", "WOW: fantastisk"}},
	} {
		words[lang] = w
	}
	for lang, say := range map[string]string{"it": "it-IT", "nl": "nl-NL", "pt": "pt-PT", "pl": "pl-PL", "sv": "sv-SE", "da": "da-DK"} {
		voiceLanguage[lang] = say
	}
	// The messages of these languages ask for INFO; their own word works too.
	for _, w := range []string{"AIUTO", "HULP", "AJUDA", "POMOC", "HJÄLP", "HJÆLP"} {
		helpWords[w] = true
	}
}
